"""Worker-kill, shutdown, redelivery, poison and outage tests, on a storage account of their own.

Modelled on how queue systems test themselves: hold a function at a named point
(``VOICEID_FAULT_PAUSE``, :mod:`shared.core.faults`), then SIGKILL or SIGTERM the host, or stop
the storage, and check that every input still gets exactly one result and nothing is lost.
The host runs with a 6 s message lease (``VOICEID_HOST_LEASE_S``) so redelivery after a kill
takes seconds, not the default minute.
"""

from __future__ import annotations

import base64
import json
import signal
import time

import pytest

from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.gallery.store import Gallery
from shared.localhost.azurite import Azurite
from shared.localhost.process import HostProcess
from shared.results import audit
from tests.helpers import (
    HOST_ENV,
    clips,
    eleven_voiceprints,
    enrol_clips,
    start_azurite,
)

pytestmark = pytest.mark.e2e
FAULT_ENV = {**HOST_ENV, "VOICEID_HOST_LEASE_S": "6"}


@pytest.fixture(scope="module")
def store(tmp_path_factory, kit):
    server = start_azurite(tmp_path_factory.mktemp("faults-azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(store) -> VoiceId:
    """A gallery of eleven speakers (trusted calibration from ten), written directly: no host yet, so no
    enrolment blob waits for delivery."""
    settings = Settings.from_env({"AzureWebJobsStorage": store.connection_string, **HOST_ENV})
    vid = VoiceId(settings)
    vid.storage.ensure()
    Gallery(vid.storage, get_embedder(settings).info, settings.shard_count).add_many(eleven_voiceprints(settings))
    return vid


def start_host(store: Azurite, tmp_path, name: str, **env: str) -> HostProcess:
    return HostProcess(store.connection_string, tmp_path / f"{name}.log", env={**FAULT_ENV, **env}).start()


def wait_log(host: HostProcess, text: str, timeout_s: float = 60.0, count: int = 1) -> None:
    deadline = time.time() + timeout_s
    while host.log_text().count(text) < count:
        assert time.time() < deadline, f"{text!r} not in the host log within {timeout_s} s: {host.log_path}"
        assert host.alive(), f"the host died: {host.log_path}"
        time.sleep(0.2)


def upload(client: VoiceId, container: str, blob: str, path) -> str:
    return client.storage.write(container, blob, path.read_bytes())


def voiceprints_of(client: VoiceId, blob: str) -> int:
    gallery = Gallery(client.storage, get_embedder(client.settings).info, client.settings.shard_count)
    return sum(e["blob"] == blob for shard in gallery.load_all() for e in shard.entries)


def test_sigkill_mid_function_redelivers_and_each_input_gets_one_result(client, store, tmp_path):
    held = start_host(store, tmp_path, "held", VOICEID_FAULT_PAUSE="match.scored=120,enroll.stored=120")
    probe, enrol = "1998/kill-probe.flac", "3080/kill-enrol.flac"
    probe_etag = upload(client, "identify", probe, clips("1998")[-1])
    enrol_etag = upload(client, "enroll", enrol, enrol_clips("3080", 1)[0])
    wait_log(held, "holding at match.scored")
    wait_log(held, "holding at enroll.stored")  # the voiceprint is stored; the result is not written
    held.process.send_signal(signal.SIGKILL)
    held.process.wait()
    assert voiceprints_of(client, f"enroll/{enrol}") == 1
    fresh = start_host(store, tmp_path, "fresh")
    try:
        verify = client.wait_result("identify", probe, probe_etag, timeout_s=120)
        enrolled = client.wait_result("enroll", enrol, enrol_etag, timeout_s=120)
        assert (verify["decision"], enrolled["status"]) == ("accept", "ok")
        log = fresh.log_text()
        assert "Functions.match_worker" in log and "DequeueCount=2)" in log  # the lease ran out: redelivered
        assert f"New blob detected: enroll/{enrol}" in log  # no receipt: delivered again
        assert voiceprints_of(client, f"enroll/{enrol}") == 1  # the same voiceprint id, replaced not doubled
        events = audit.read(client.storage)
        assert sum(e["request_id"] == verify["request_id"] for e in events) == 1
        assert sum(e["blob"] == f"enroll/{enrol}" and e["action"] == "enroll" for e in events) == 1
    finally:
        assert fresh.stop() == 0


def test_a_long_job_keeps_its_lease_and_sigterm_lets_it_finish(client, store, tmp_path):
    host = start_host(store, tmp_path, "long", VOICEID_FAULT_PAUSE="match.scored=10")  # lease 6 s, job 10 s
    blob = "2033/long-job.flac"
    etag = upload(client, "identify", blob, clips("2033")[-1])
    doc = client.wait_result("identify", blob, etag, timeout_s=60)
    assert doc["decision"] == "accept"
    log = host.log_text()
    assert log.count("Executing 'Functions.match_worker'") == 1 and "DequeueCount=2" not in log  # renewed
    second = "2033/sigterm.flac"
    etag = upload(client, "identify", second, clips("2033")[-2])
    wait_log(host, "holding at match.scored", count=2)
    started = time.time()
    code = host.stop(timeout_s=60)
    took = time.time() - started
    assert code == 0 and took < 30, f"exit {code} after {took:.1f} s"
    assert client.storage.read_json(contract.RESULTS, f"identify/{second}.json")["etag"] == etag  # it finished
    assert "no new work is taken" in host.log_text() and "cut off" not in host.log_text()


def test_sigterm_releases_work_that_cannot_finish_in_time(client, store, tmp_path):
    host = start_host(store, tmp_path, "drain", VOICEID_FAULT_PAUSE="match.scored=120", VOICEID_HOST_DRAIN_S="2")
    blob = "2414/released.flac"
    etag = upload(client, "identify", blob, clips("2414")[-1])
    wait_log(host, "holding at match.scored")
    started = time.time()
    assert host.stop(timeout_s=60) == 0
    assert time.time() - started < 15  # bounded: 2 s drain, then release and exit
    assert "released message" in host.log_text()
    fresh = start_host(store, tmp_path, "after-drain")
    try:
        doc = client.wait_result("identify", blob, etag, timeout_s=60)
        assert doc["decision"] == "accept"
        assert "DequeueCount=2)" in fresh.log_text()
    finally:
        assert fresh.stop() == 0


@pytest.fixture(scope="module")
def steady(store, tmp_path_factory):
    host = start_host(store, tmp_path_factory.mktemp("steady"), "steady")
    yield host
    assert host.stop() == 0


def test_a_message_that_always_fails_reaches_the_poison_queue_intact(client, steady):
    job = {"request_id": "poison-test", "kind": "verify", "blob": "1688/poison.flac", "etag": '"x"',
           "shard": "not-a-number", "shards": [0], "model_id": get_embedder(client.settings).info.id,
           "probe": "poison-test/probe.npy", "claimed": "1688"}
    client.storage.write(contract.MATCH_STATE, "poison-test/probe.npy", _probe_bytes())
    body = base64.b64encode(json.dumps(job).encode()).decode()
    client.storage.send(contract.MATCH_QUEUE, body)
    poison = client.storage.queues.get_queue_client(contract.MATCH_QUEUE + contract.POISON_SUFFIX)
    deadline = time.time() + 120
    while not (found := [m for m in poison.peek_messages(max_messages=32) if m.content == body]):
        assert time.time() < deadline, f"no poison message; log: {steady.log_path}"
        time.sleep(0.5)
    assert len(found) == 1
    assert steady.log_text().count("Id=") and "DequeueCount=5/5" in steady.log_text()
    doc = client.storage.read_json(contract.RESULTS, "identify/1688/poison.flac.json")
    assert doc["status"] == "error"  # the sender is told on the last try
    other = "1688/after-poison.flac"  # and other work goes on
    assert client.wait_result("identify", other, upload(client, "identify", other, clips("1688")[-1]),
                              timeout_s=60)["decision"] == "accept"


def _probe_bytes() -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.ones(192, np.float32) / np.sqrt(192), allow_pickle=False)
    return buf.getvalue()


def test_storage_outage_the_host_backs_off_and_recovers_by_itself(client, store, steady):
    blob = "3005/outage.flac"
    etag = upload(client, "identify", blob, clips("3005")[-1])
    store.stop()
    time.sleep(20)  # longer than the storage client's own retries (about 9 s)
    store.start()
    doc = client.wait_result("identify", blob, etag, timeout_s=120)
    assert doc["decision"] == "accept"
    assert steady.alive() and "polling failed" in steady.log_text()
    after = "3005/after-outage.flac"
    assert client.wait_result("identify", after, upload(client, "identify", after, clips("3005")[-2]),
                              timeout_s=60)["decision"] == "accept"

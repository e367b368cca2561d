"""No secret leaves the process: a canary account key, SAS token and voiceprint key, then a scan of everything.

An Azurite of its own serves one account whose key is made for this test. The host runs with
that key; the CLI runs with an account SAS (and once with a read-only SAS that is refused);
enrolment, identification, verification, a bad upload, a storage failure that poisons an
input, and the operator commands all run. Then every place the product writes is scanned
for each secret in the forms it could take (as is, URL-encoded, base64-decoded): the host
log, every CLI output, every blob of every container and every queue message.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import generate_account_sas

from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.settings import Settings
from shared.localhost.azurite import Azurite
from shared.localhost.process import HostProcess
from shared.storage import sealing
from shared.storage.azure import get_storage
from tests.helpers import HOST_ENV, clips, enrol_clips, forms, start_azurite, voiceid

pytestmark = pytest.mark.e2e
ACCOUNT = "canaryacct"


def sas_connection(server: Azurite, key: str, permission: str) -> tuple[str, str]:
    """A connection string holding an account SAS (blob and queue), and the SAS's signature."""
    sas = generate_account_sas(ACCOUNT, key, resource_types="sco", permission=permission,
                               expiry=datetime.now(timezone.utc) + timedelta(hours=1), services="bq")
    blob, queue = server.ports[:2]
    conn = (f"BlobEndpoint=http://127.0.0.1:{blob}/{ACCOUNT};QueueEndpoint=http://127.0.0.1:{queue}/{ACCOUNT};"
            f"SharedAccessSignature={sas}")
    return conn, urllib.parse.parse_qs(sas)["sig"][0]


def texts_in_storage(conn: str) -> dict[str, str]:
    """Every blob of every container and every queue message, as text (queue bodies base64-decoded too)."""
    storage = get_storage(conn)
    out = {}
    for container in storage.blobs.list_containers():
        for item in storage.list(container.name):
            got = storage.read(container.name, item.name)
            out[f"{container.name}/{item.name}"] = item.name + (got[0].decode("utf-8", "replace") if got else "")
    for queue in storage.queues.list_queues():
        for msg in storage.queues.get_queue_client(queue.name).peek_messages(max_messages=32):
            try:
                body = base64.b64decode(msg.content, validate=True).decode("utf-8", "replace")
            except ValueError:
                body = msg.content
            out[f"queue {queue.name}/{msg.id}"] = msg.content + body
    return out


@pytest.fixture(scope="module")
def canary(tmp_path_factory, kit):
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    server = start_azurite(tmp_path_factory.mktemp("canary-azurite"), account=(ACCOUNT, key))
    yield server, key
    server.stop()


def run_cli(conn: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return voiceid(conn, *args, **{**HOST_ENV, **env})


def test_no_secret_in_logs_results_messages_or_blobs(canary, tmp_path):
    server, key = canary
    voiceprint_key = sealing.new_key_entry("canary")
    sas_conn, sig = sas_connection(server, key, "rwdlacup")
    read_only_conn, read_only_sig = sas_connection(server, key, "rl")
    host_env = {**HOST_ENV, sealing.ENV: voiceprint_key, "VOICEID_HOST_LEASE_S": "6"}
    outputs = []
    host = HostProcess(server.connection_string, tmp_path / "host.log", env=host_env).start()
    try:
        cli = {sealing.ENV: voiceprint_key}
        for speaker in ("1688", "1998"):
            done = run_cli(sas_conn, "enroll", str(enrol_clips(speaker, 1)[0]), "--name", speaker, "--timeout", "180",
                           **cli)
            outputs.append(done)
            assert done.returncode == 0, done.stdout + done.stderr
        outputs += [run_cli(sas_conn, "identify", str(clips("1998")[-1]), "--json", "--timeout", "180", **cli),
                    run_cli(sas_conn, "identify", str(clips("1688")[-1]), "--claim", "1688", "--timeout", "180", **cli)]
        bad = tmp_path / "junk.wav"
        bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 50)
        outputs.append(run_cli(sas_conn, "identify", str(bad), "--timeout", "180", **cli))
        refused = run_cli(read_only_conn, "enroll", str(enrol_clips("2033", 1)[0]), "--name", "2033", "--no-wait")
        assert refused.returncode != 0  # the read-only SAS cannot upload: the error must not echo it
        outputs.append(refused)

        client = VoiceId(Settings.from_env({"AzureWebJobsStorage": server.connection_string, **host_env}))
        client.storage.blobs.delete_container(contract.MATCH_STATE)  # every identify attempt fails, then poisons
        try:
            etag = client.upload("identify", "1688/poisoned.flac", clips("1688")[-1])
            doc = client.wait_result("identify", "1688/poisoned.flac", etag, timeout_s=240)
            assert doc["status"] == "error"
        finally:
            for _ in range(100):
                try:
                    client.storage.blobs.create_container(contract.MATCH_STATE)
                    break
                except Exception:  # noqa: BLE001 - still being deleted
                    time.sleep(0.2)
        for args in (("poison", "list"), ("audit", "--json"), ("rotate-key", "--check"), ("retention",),
                     ("speakers",)):
            outputs.append(run_cli(sas_conn, *args, **cli))
    finally:
        assert host.stop() == 0
    secrets_ = {"account key": key, "SAS signature": sig, "read-only SAS signature": read_only_sig,
                "voiceprint key": voiceprint_key.partition(":")[2]}
    places = {"host log": host.log_text(),
              **{f"voiceid {' '.join(o.args[3:5])} (output {i})": o.stdout + o.stderr for i, o in enumerate(outputs)},
              **texts_in_storage(server.connection_string)}
    assert len(places) > 20 and any(k.startswith("results/") for k in places)
    assert any(k.startswith("queue " + contract.BLOB_POISON_QUEUE) or k.startswith("results/identify/1688/poisoned")
               for k in places)
    found = [f"{what} in {where}" for where, text in places.items() for what, secret in secrets_.items()
             if any(form in text for form in forms(secret))]
    assert not found, found

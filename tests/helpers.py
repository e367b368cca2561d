"""Every helper the tests share, in one module: the team kit's speech, result schemas, Azurite and host settings.

Test modules import helpers from here and fixtures come from the ``conftest.py`` files, so no
test imports another test module or a conftest.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import jsonschema
import numpy as np

from shared.core.keys import ENV as KEYS_ENV
from shared.core.keys import new_key_entry

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA = PROJECT_ROOT.parent / "shared" / "data"
MULTI = DATA / "librispeech-multi"
SINGLE = DATA / "librispeech-single"
SPLIT = DATA / "librispeech-split"
SCHEMAS = PROJECT_ROOT / "shared" / "results" / "schemas"
TEAM_KIT_MODELS = PROJECT_ROOT.parent / "shared" / "models"
TEAM_KIT_MODEL = TEAM_KIT_MODELS / "spkrec-ecapa-voxceleb"

# The test host's limits are lowered so that the limit tests upload small files. Voiceprints are sealed
# as in production, with a key made for this session (never a key written in the repository); the test
# process holds it too, so that in-process galleries and the hosts these tests start open the same blobs.
os.environ.setdefault(KEYS_ENV, new_key_entry("e2e-session"))
HOST_ENV = {"VOICEID_MAX_AUDIO_BYTES": "4000000", "VOICEID_MAX_AUDIO_SECONDS": "120",
            KEYS_ENV: os.environ[KEYS_ENV]}

FOLDER_SPEAKERS = ("1688", "1998", "2033")
FILE_SPEAKER = "2414"
# Six more readers (one file each) bring the gallery to the 10 speakers from which it calibrates itself;
# below that the product fails closed with a measured cold-start margin (docs/accuracy.md).
FILLERS = tuple(sorted(p.name for p in SPLIT.iterdir() if p.is_dir())[20:26]) if SPLIT.is_dir() else ()
GALLERY_SPEAKERS = ("1688", "1998", "2033", "2414", "3005")


def clips(speaker: str) -> list[Path]:
    return sorted((MULTI / speaker).glob("*.flac"))


def enrol_clips(speaker: str, count: int) -> list[Path]:
    """The ``count`` longest clips of a speaker, never the last two (tests hold those back as probes)."""
    return sorted(clips(speaker)[:-2], key=lambda p: p.stat().st_size, reverse=True)[:count]


def speech(speaker: str, seconds: float) -> np.ndarray:
    """``seconds`` of one kit speaker's decoded speech (clips joined, repeated when short)."""
    from shared.audio.decode import decode

    joined = np.concatenate([decode(c.read_bytes(), max_seconds=600, timeout_s=60).samples for c in clips(speaker)])
    return np.resize(joined, int(seconds * 16000))


def spoken_digits(speaker: str, digits: str, take: int, pause_s: float = 0.25) -> np.ndarray:
    """A digit string read by one FSDD speaker: take ``take`` of each digit, joined with quiet pauses.

    FSDD holds single spoken digits (real recordings, 8 kHz); a caller answering a challenge reads
    them one after another. The pauses hold faint noise, not digital silence, as a real line does.
    """
    from shared.audio.decode import decode

    rng = np.random.default_rng(take)
    pause = lambda: (rng.standard_normal(int(pause_s * 16000)) * 1e-3).astype(np.float32)  # noqa: E731
    parts = [pause()]
    for c in digits:
        clip = DATA / "fsdd-digits" / speaker / f"{c}_{speaker}_{take}.flac"
        parts += [decode(clip.read_bytes(), max_seconds=60, timeout_s=60).samples, pause()]
    return np.concatenate(parts)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16 kHz mono 16-bit PCM, with the standard library only."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@lru_cache(maxsize=None)
def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def assert_valid(doc: dict) -> None:
    """Raise with every violation when ``doc`` does not match the published JSON schema of its kind."""
    errors = sorted(validator(doc["kind"]).iter_errors(doc), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def start_azurite(where: Path, **kwargs):
    """An Azurite of a test's own, on free ports (``kwargs``: e.g. ``account=(name, key)``)."""
    from shared.localhost.azurite import Azurite, free_port

    return Azurite(where, free_port(), free_port(), free_port(), **kwargs).start()


def eleven_voiceprints(settings) -> list:
    """One real voiceprint each of five kit speakers and the six fillers: enough speakers (ten) for the gallery
    to calibrate itself, embedded in-process so a test can write them straight into a gallery (no host needed)."""
    from shared.core.names import speaker_key
    from shared.core.records import BlobInput
    from shared.embedding.frontend import embed_input
    from shared.gallery.shards import Voiceprint, voiceprint_id

    paths = [(s, enrol_clips(s, 1)[0]) for s in GALLERY_SPEAKERS] + [(f"reader-{r}", SPLIT / r / "a.flac")
                                                                      for r in FILLERS]
    vps = []
    for speaker, path in paths:
        emb = embed_input(BlobInput("enroll", f"{speaker}/{path.name}", '"x"', path.read_bytes()), settings,
                          min_speech_s=settings.min_speech_enroll_s)
        vps.append(Voiceprint(voiceprint_id=voiceprint_id("enroll", f"{speaker}/{path.name}"),
                              key=speaker_key(speaker), speaker=speaker, embedding=emb.vector))
    return vps


def forms(secret: str) -> set[str]:
    """The ways a secret (or a canary name) could show up in text: as is, URL-encoded (twice), and a long slice
    of each. The secrets test and the telemetry test scan with it."""
    import urllib.parse

    once = urllib.parse.quote(secret, safe="")
    return {s for v in (secret, once, urllib.parse.quote(once, safe="")) for s in (v, v[8:40] if len(v) > 16 else v)}


def memory_storage(clock=None):
    """An in-memory storage with the contract's containers and queues (shared.storage.memory)."""
    from shared.storage.memory import MemoryStorage

    storage = MemoryStorage() if clock is None else MemoryStorage(clock=clock)
    storage.ensure()
    return storage


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` random unit-length float32 rows (stand-in voiceprints for logic tests)."""
    rows = np.random.default_rng(seed).normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


class Clock:
    """A clock a test moves by hand (``MemoryStorage(clock=...)``, ages and leases without sleeping)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def racing_storage(races: dict[tuple[str, str], int], clock=None):
    """An in-memory storage where another writer rewrites ``(container, blob)`` right after each of its first
    ``n`` reads, so a conditional write based on that read loses the race (the optimistic loop must retry)."""
    from shared.storage.memory import MemoryStorage

    class Racing(MemoryStorage):
        def read(self, container: str, name: str):
            got = super().read(container, name)
            if got is not None and races.get((container, name), 0) > 0:
                races[(container, name)] -= 1
                super().write(container, name, got[0])  # same bytes, new ETag: what was read is stale now
            return got

    storage = Racing() if clock is None else Racing(clock=clock)
    storage.ensure()
    return storage


def _default_sigint() -> None:
    """In a child before exec: a job started in the background by a non-interactive shell inherits SIGINT ignored,
    and Python then never raises KeyboardInterrupt, so the CLI would not stop on the tests' Ctrl-C."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def voiceid(storage, *args: str, wait: bool = True, timeout: float = 600, **env: str):
    """Run the ``voiceid`` CLI (``python -m shared.cli``) against ``storage`` (an Azurite or a connection string;
    None for commands that need no storage, such as ``eval``).

    ``env`` adds variables; ``wait=False`` returns the running process instead of its result.
    """
    import subprocess
    import sys

    full = {**os.environ, **env}
    if storage is not None:
        full["AzureWebJobsStorage"] = storage if isinstance(storage, str) else storage.connection_string
    cmd = [sys.executable, "-m", "shared.cli", *args]
    if not wait:  # tests Ctrl-C it: SIGINT back to its default, as a suite run in the background ignores it
        return subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=_default_sigint)
    return subprocess.run(cmd, cwd=PROJECT_ROOT, env=full, capture_output=True, text=True, timeout=timeout)


def shard_with(*rows: tuple[str, str, list[float]]):
    """A two-dimensional shard of ``(voiceprint id, speaker key, vector)`` rows (shard-format tests)."""
    from shared.gallery.shards import Shard, Voiceprint

    shard = Shard.empty(2)
    for vp_id, key, vec in rows:
        shard, _ = shard.with_voiceprint(Voiceprint(voiceprint_id=vp_id, key=key, speaker=key,
                                                    embedding=np.asarray(vec, np.float32)))
    return shard

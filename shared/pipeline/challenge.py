"""Text-prompted liveness: a one-time digit string that only a live caller can speak on demand.

``POST /api/challenge/{name}`` (or ``voiceid challenge NAME``) issues a challenge: a random nonce,
a random digit string and an expiry, bound to the claimed name. The caller speaks the digits and
the recording is uploaded as a verification whose file name starts with ``challenge-<nonce>``
(``identify/<name>/challenge-<nonce>.wav``: a name Storage Explorer, scripts and
``POST /api/identify?claim=<name>&challenge=<nonce>`` can all give it). The identify trigger then

1. takes the challenge: it must exist, be unexpired, be bound to the claimed name and unused (it is
   marked used by this request with an ETag-conditional write, so two uploads cannot both use it;
   a redelivery of the same request may take it again);
2. checks the digits with offline speech recognition (:mod:`shared.audio.digits`);
3. goes on to liveness and scoring only when they match; else a ``rejected`` result with a
   ``challenge.*`` code, counted against the claim's lockout like any failed verification.

The verify result reports ``challenge: {expected, heard, match, margin}``. State lives in
``match-state/challenges/<nonce>.json`` (no name: the key hash), swept by retention after an hour.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.names import speaker_key
from shared.core.settings import Settings
from shared.storage import optimistic
from shared.storage.base import Storage

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


def issue(storage: Storage, claimed: str, settings: Settings, now: float | None = None) -> Challenge:
    """A new challenge for ``claimed``: a 128-bit nonce and ``VOICEID_CHALLENGE_DIGITS`` random digits."""
    now = time.time() if now is None else now
    digits = "".join(secrets.choice("0123456789") for _ in range(settings.challenge_digits))
    challenge = Challenge(nonce=secrets.token_hex(16), key=contract.key_hash(speaker_key(claimed)), digits=digits,
                          issued_at=now, expires_at=now + settings.challenge_ttl_s)
    storage.write_json(contract.MATCH_STATE, blob_name(challenge.nonce), asdict(challenge), if_none_match="*")
    return challenge


def _refuse(message: str, code: str, hint: str) -> PermanentError:
    return PermanentError(message, code=code, hint=hint)


def take(storage: Storage, nonce: str, claimed: str, request_id: str, now: float | None = None) -> Challenge:
    """Mark the challenge used by ``request_id``; refuse an unknown, expired, re-used or other-speaker one."""
    now = time.time() if now is None else now
    again = "Ask for a new challenge (POST /api/challenge/{name}) and upload the new recording."

    def read() -> tuple[Challenge | None, str | None]:
        got = storage.read(contract.MATCH_STATE, blob_name(nonce))
        return (None, None) if got is None else (Challenge(**json.loads(got[0])), got[1])

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


def recogniser():
    """The process's digit recogniser (loaded on first use, like the models)."""
    global _recogniser
    with _lock:
        if _recogniser is None:
            from shared.audio.digits import DigitRecogniser

            _recogniser = DigitRecogniser()
        return _recogniser


def answer(storage: Storage, file_name: str, claimed: str, request_id: str, samples, audio: dict) -> dict | None:
    """The ``challenge`` object of a verification whose file names a challenge (None when it names none).

    Wrong digits raise ``challenge.mismatch`` (a ``rejected`` result); the challenge is used up either way.
    """
    nonce = nonce_of(file_name)
    if nonce is None:
        return None
    found = take(storage, nonce, claimed, request_id)
    heard = recogniser().check(samples, found.digits)
    if not heard.match:
        raise PermanentError(f"the recording does not say the challenge's digits (heard {heard.heard or 'none'!r})",
                             code="challenge.mismatch",
                             hint="Ask for a new challenge and read its digits clearly, one at a time.",
                             details={"challenge": heard.to_json(), "audio": audio})
    return heard.to_json()

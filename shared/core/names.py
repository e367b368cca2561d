"""Blob names in, meaning out: who is enrolling, who is claimed, where the result goes.

The storage contract (docs/architecture.md) in code. Names are parsed once, at the
edge, into frozen records; everything downstream works with those records.

Speaker names are matched by one rule: Unicode NFC, runs of whitespace folded to one
space, ends stripped, case-insensitive (``str.casefold``). Results show the name as
it was first enrolled.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass

from shared.core.errors import PermanentError

RESERVED_SPEAKERS = frozenset({"unknown"})
MAX_SPEAKER_CHARS = 128
MAX_BLOB_CHARS = 900  # Azure allows 1024; keep room for "results/<container>/" and ".json".

_WS = re.compile(r"\s+")


def display_name(name: str) -> str:
    """A speaker name as shown: NFC, whitespace folded, case kept."""
    return _WS.sub(" ", unicodedata.normalize("NFC", name)).strip()


def speaker_key(name: str) -> str:
    """The key two spellings of one speaker share (``" Ann  Lee"`` and ``"ann lee"``)."""
    return display_name(name).casefold()


@dataclass(frozen=True)
class EnrollTarget:
    """What an ``enroll/`` blob asks for: add a voiceprint of ``speaker`` from ``blob``."""

    blob: str
    speaker: str


@dataclass(frozen=True)
class IdentifyTarget:
    """What an ``identify/`` blob asks for: 1:N when ``claimed`` is None, else 1:1."""

    blob: str
    claimed: str | None

    @property
    def kind(self) -> str:
        return "identify" if self.claimed is None else "verify"


def split_trigger_name(full_name: str) -> tuple[str, str]:
    """``"enroll/ann/a.flac"`` (the blob trigger's name) -> ``("enroll", "ann/a.flac")``."""
    container, sep, blob = full_name.partition("/")
    if not sep or not blob:
        raise PermanentError(f"blob name {full_name!r} has no container part", code="name.invalid")
    return container, blob


def unprintable(text: str) -> str | None:
    """The first control character, surrogate or U+FFFE/U+FFFF of ``text``, if any.

    Blob listings are XML, which cannot carry them: one such blob makes Azurite fail every
    listing of its container (and erasure lists containers). No person types them.
    """
    return next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"), None)


def _check_common(blob: str) -> list[str]:
    bad = unprintable(blob)
    if bad is not None:
        raise PermanentError(f"blob name contains the control character U+{ord(bad):04X}", code="name.invalid",
                             hint="Use printable characters only in speaker and file names.")
    if len(blob) > MAX_BLOB_CHARS:
        raise PermanentError(
            f"blob name is {len(blob)} characters long",
            code="name.too_long",
            hint=f"Use a blob name of at most {MAX_BLOB_CHARS} characters.",
        )
    parts = blob.split("/")
    if any(p in (".", "..") for p in parts):
        raise PermanentError("blob name contains '.' or '..' segments", code="name.invalid",
                             hint="Use plain folder and file names.")
    return parts


def _check_speaker(raw: str, what: str) -> str:
    name = display_name(raw)
    if not name:
        raise PermanentError(f"the {what} name is empty", code="name.empty_speaker",
                             hint="Put the file in a folder named after the speaker.")
    if len(name) > MAX_SPEAKER_CHARS:
        raise PermanentError(f"the {what} name is {len(name)} characters long", code="name.too_long",
                             hint=f"Use a speaker name of at most {MAX_SPEAKER_CHARS} characters.")
    if speaker_key(name) in RESERVED_SPEAKERS:
        raise PermanentError(f"{name!r} is reserved", code="name.reserved",
                             hint="'unknown' is the open-set answer; choose another speaker name.")
    return name


def parse_enroll(blob: str) -> EnrollTarget:
    """``ann/a.flac`` or ``ann.flac`` -> speaker ``ann``. Deeper folders are refused."""
    parts = _check_common(blob)
    if len(parts) == 2:
        speaker, file = parts
    elif len(parts) == 1:
        file = parts[0]
        stem, ext = posixpath.splitext(file)
        speaker = stem if ext and stem else file
    else:
        raise PermanentError(
            f"enroll blob {blob!r} is nested {len(parts) - 1} folders deep",
            code="name.too_deep",
            hint="Upload as enroll/<speaker>/<file> or enroll/<speaker>.<ext>.",
        )
    if not file.strip():
        raise PermanentError("enroll blob has no file name", code="name.invalid",
                             hint="Upload as enroll/<speaker>/<file>.")
    return EnrollTarget(blob=blob, speaker=_check_speaker(speaker, "speaker"))


def parse_watchlist(blob: str) -> EnrollTarget:
    """``FR-0042/call.wav`` or ``FR-0042.wav`` -> case ``FR-0042``: a watchlist upload is named like an enrolment."""
    parts = _check_common(blob)
    if len(parts) > 2:
        raise PermanentError(f"watchlist blob {blob!r} is nested {len(parts) - 1} folders deep", code="name.too_deep",
                             hint="Upload as watchlist/<case id>/<file>.")
    target = parse_enroll(blob)
    return EnrollTarget(blob=blob, speaker=target.speaker)


def parse_identify(blob: str) -> IdentifyTarget:
    """``probe.wav`` -> identify (1:N); ``ann/probe.wav`` -> verify the claim "ann"."""
    parts = _check_common(blob)
    if len(parts) == 1:
        return IdentifyTarget(blob=blob, claimed=None)
    if len(parts) == 2:
        if not parts[1].strip():
            raise PermanentError("identify blob has no file name", code="name.invalid",
                                 hint="Upload as identify/<file> or identify/<claimed speaker>/<file>.")
        return IdentifyTarget(blob=blob, claimed=_check_speaker(parts[0], "claimed speaker"))
    raise PermanentError(
        f"identify blob {blob!r} is nested {len(parts) - 1} folders deep",
        code="name.too_deep",
        hint="Upload as identify/<file> or identify/<claimed speaker>/<file>.",
    )

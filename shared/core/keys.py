"""The voiceprint key-encryption keys as configured: ``VOICEID_VOICEPRINT_KEYS``, parsed and checked.

Only the text is read here (settings validate it at start-up); sealing with the keys is
:mod:`shared.storage.sealing`'s job. Errors name the variable and the entry, never the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from shared.core.errors import ConfigError

ENV = "VOICEID_VOICEPRINT_KEYS"
KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def new_key_entry(kid: str) -> str:
    """A fresh ``kid:base64key`` entry for ``VOICEID_VOICEPRINT_KEYS`` (``voiceid keygen``)."""
    if not KID.match(kid):
        raise ConfigError("a key id is 1-64 letters, digits, '.', '_' or '-'")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def parse_keys(text: str) -> dict[str, bytes]:
    """``kid:base64key,...`` -> ``{kid: 32-byte key}`` in the listed order (the first one seals)."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(p.strip() for p in text.split(",") if p.strip()):
        kid, sep, material = entry.partition(":")
        if not sep or not KID.match(kid):
            raise ConfigError(f"{ENV}: entry {number + 1} is not 'kid:base64key' (create one with voiceid keygen)")
        try:
            raw = base64.b64decode(material, validate=True)
        except binascii.Error as exc:
            raise ConfigError(f"{ENV}: the key of '{kid}' is not base64") from exc
        if len(raw) != 32:
            raise ConfigError(f"{ENV}: the key of '{kid}' is {len(raw)} bytes; AES-256 needs 32")
        if kid in keys:
            raise ConfigError(f"{ENV}: key id '{kid}' is listed twice")
        keys[kid] = raw
    return keys


def describe_keys(text: str) -> str:
    """What a log or ``repr`` may show of the keys: the ids, which one seals, never the material."""
    keys = parse_keys(text)
    return f"Keyring(active={next(iter(keys), None)!r}, kids={list(keys)!r})"

"""Envelope encryption of biometric blobs: voiceprint shards, gallery statistics, probe embeddings.

A reader of the storage account alone must not be able to use a voiceprint, so the
application seals these blobs itself before they reach storage:

- every blob gets its own random 256-bit data key and is encrypted with AES-256-GCM;
- the data key is wrapped (AES key wrap, RFC 3394) by a key-encryption key (KEK) from
  ``VOICEID_VOICEPRINT_KEYS``, which on Azure is a Key Vault reference, so the KEK lives
  in Key Vault and in the app's memory, never in storage;
- the blob's container and path are the GCM associated data, so a sealed blob copied
  to another path (say, one speaker's shard over another's) does not open.

``VOICEID_VOICEPRINT_KEYS`` is ``kid:base64key[,kid:base64key...]``: the first key seals
new blobs, every listed key opens old ones. Rotation: put the new key first, keep the
old one listed, run ``voiceid rotate-key`` (it re-seals every blob under the new key),
then drop the old one.

Blob layout: ``MAGIC`` | header length (2 bytes, big endian) | header JSON
``{"v": 1, "kid", "wrapped", "nonce"}`` | ciphertext with its 16-byte tag. A blob without
the magic is plaintext (written before keys were set); it is read with a warning, and
``voiceid rotate-key`` seals it. Accepting it gives an attacker nothing new: whoever can
write the storage account can already enrol anyone through the ``enroll`` container.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from shared.core.errors import PermanentError
from shared.core.keys import ENV, parse_keys
from shared.core.keys import (
    new_key_entry as new_key_entry,  # voiceid keygen's, re-exported beside the keyring
)

if TYPE_CHECKING:
    from shared.storage.base import Storage

log = logging.getLogger(__name__)
MAGIC = b"VIDSEAL1"
_warned: set[str] = set()


def _warn_once(what: str, message: str, *args: object) -> None:
    if what not in _warned:
        _warned.add(what)
        log.warning(message, *args)


def is_sealed(data: bytes) -> bool:
    return data[:len(MAGIC)] == MAGIC


def sealed_kid(data: bytes) -> str | None:
    """The id of the key that sealed ``data``; None for a plaintext blob."""
    return _header(data)[0]["kid"] if is_sealed(data) else None


def _header(data: bytes) -> tuple[dict, bytes]:
    start = len(MAGIC) + 2
    size = int.from_bytes(data[len(MAGIC):start], "big")
    try:
        return json.loads(data[start:start + size]), data[start + size:]
    except ValueError as exc:
        raise PermanentError("a sealed voiceprint blob has a damaged header", code="seal.damaged") from exc


@dataclass(frozen=True)
class Keyring:
    """The key-encryption keys of this process; the first seals, all of them open."""

    keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    active: str | None = None

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Read ``kid:base64key,...``; errors name the variable and the entry, never the key."""
        keys = parse_keys(text)
        return cls(keys=keys, active=next(iter(keys), None))

    def __repr__(self) -> str:
        return f"Keyring(active={self.active!r}, kids={list(self.keys)!r})"

    def seal(self, data: bytes, where: str) -> bytes:
        """``data`` sealed under the active key for the blob ``where`` ("container/path").

        Without keys the data stays plaintext (a laptop or a test); the log says so once.
        """
        if self.active is None:
            _warn_once("plain", "%s is not set: voiceprints are stored unencrypted (fine on a laptop, "
                                "never in production: see docs/security.md)", ENV)
            return data
        data_key, nonce = AESGCM.generate_key(bit_length=256), secrets.token_bytes(12)
        header = json.dumps({"v": 1, "kid": self.active, "nonce": base64.b64encode(nonce).decode(),
                             "wrapped": base64.b64encode(aes_key_wrap(self.keys[self.active], data_key)).decode()},
                            separators=(",", ":")).encode()
        body = AESGCM(data_key).encrypt(nonce, data, where.encode())
        return MAGIC + len(header).to_bytes(2, "big") + header + body

    def open(self, data: bytes, where: str) -> bytes:
        """The plaintext of a blob read from ``where``; plaintext blobs pass through (with a warning
        when keys are set). A missing key or a failed check is permanent: retrying cannot help."""
        if not is_sealed(data):
            if self.active is not None:
                _warn_once(where, "%s is not sealed (written before %s was set); voiceid rotate-key seals it",
                           where, ENV)
            return data
        header, body = _header(data)
        kek = self.keys.get(header.get("kid", ""))
        if kek is None:
            raise PermanentError(f"{where} is sealed with key '{header.get('kid')}', which {ENV} does not list: "
                                 "add that key back (keep old keys until voiceid rotate-key has finished)",
                                 code="seal.key_missing")
        try:
            data_key = aes_key_unwrap(kek, base64.b64decode(header["wrapped"]))
            return AESGCM(data_key).decrypt(base64.b64decode(header["nonce"]), body, where.encode())
        except (InvalidUnwrap, InvalidTag, KeyError, binascii.Error) as exc:
            raise PermanentError(f"{where} does not open with key '{header.get('kid')}': the blob was altered, "
                                 "moved from another path, or the key under that id changed", code="seal.damaged") from exc


def read_blob(storage: Storage, ring: Keyring, container: str, blob: str) -> tuple[bytes, str] | None:
    """A sealed blob's plaintext and ETag (None when absent)."""
    got = storage.read(container, blob)
    return None if got is None else (ring.open(got[0], f"{container}/{blob}"), got[1])


def write_blob(storage: Storage, ring: Keyring, container: str, blob: str, data: bytes, **conditions) -> str:
    """Seal ``data`` for ``container/blob`` and write it (``conditions``: as :meth:`Storage.write`)."""
    return storage.write(container, blob, ring.seal(data, f"{container}/{blob}"), **conditions)


@lru_cache(maxsize=8)
def _parsed(text: str) -> Keyring:
    return Keyring.parse(text)


def keyring(text: str | None = None) -> Keyring:
    """The keyring of ``text`` (default: the ``VOICEID_VOICEPRINT_KEYS`` app setting)."""
    return _parsed(os.environ.get(ENV, "") if text is None else text)

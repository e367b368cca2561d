"""Envelope encryption of biometric blobs: voiceprint shards, gallery statistics, probe embeddings.

A reader of the storage account alone must not be able to use a voiceprint, so the
application seals these blobs itself before they reach storage:

- every blob gets its own random 256-bit data key and is encrypted with AES-256-GCM;
- the data key is wrapped by a key-encryption key (KEK) from ``VOICEID_VOICEPRINT_KEYS``:
  either a Key Vault (or Managed HSM) *key*, which wraps and unwraps it inside the vault so the
  KEK never leaves it (:mod:`shared.storage.keyvault`, what infra deploys), or a 256-bit key
  held in the app's memory (AES key wrap, RFC 3394; laptops, tests, older deployments that
  keep it in a Key Vault secret). Never in storage;
- the blob's container and path are the GCM associated data, so a sealed blob copied
  to another path (say, one speaker's shard over another's) does not open.

``VOICEID_VOICEPRINT_KEYS`` lists entries ``kid:base64key`` or
``https://<vault>/keys/<name>[/<version>]`` (:mod:`shared.core.keys`): the first seals new
blobs, every listed key opens old ones. Rotation, including between a local key and a vault
key in either direction: put the new key first, keep the old one listed, run
``voiceid rotate-key`` (it re-seals every blob under the new key), then drop the old one.

Blob layout: ``MAGIC`` | header length (2 bytes, big endian) | header JSON
``{"v": 1, "kid", "wrapped", "nonce"}`` (a vault key adds ``"kv"``, the key id with the
version that wrapped, and ``"alg"``) | ciphertext with its 16-byte tag. A blob without
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
from shared.core.keys import ENV, VaultKey, parse_keys
from shared.core.keys import (
    new_key_entry as new_key_entry,  # voiceid keygen's, re-exported beside the keyring
)
from shared.storage import keyvault

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

    keys: dict[str, bytes | VaultKey] = field(default_factory=dict, repr=False)
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
                             **self._wrap(data_key)}, separators=(",", ":")).encode()
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
        kek = self._kek(header)
        if kek is None:
            raise PermanentError(f"{where} is sealed with key '{header.get('kid')}', which {ENV} does not list: "
                                 "add that key back (keep old keys until voiceid rotate-key has finished)",
                                 code="seal.key_missing")
        try:
            data_key = self._unwrap(kek, header)
            return AESGCM(data_key).decrypt(base64.b64decode(header["nonce"]), body, where.encode())
        except (InvalidUnwrap, InvalidTag, KeyError, binascii.Error) as exc:
            raise PermanentError(f"{where} does not open with key '{header.get('kid')}': the blob was altered, "
                                 "moved from another path, or the key under that id changed", code="seal.damaged") from exc

    def _wrap(self, data_key: bytes) -> dict:
        """The header fields that carry ``data_key`` wrapped by the active key."""
        kek = self.keys[self.active]
        if isinstance(kek, VaultKey):
            wrapped, key_id = keyvault.wrap(kek, data_key)
            return {"wrapped": base64.b64encode(wrapped).decode(), "kv": key_id, "alg": kek.algorithm}
        return {"wrapped": base64.b64encode(aes_key_wrap(kek, data_key)).decode()}

    def _kek(self, header: dict) -> bytes | VaultKey | None:
        """The listed key that sealed a blob: by its id, or (a vault key) by any listed entry of the same key."""
        found = self.keys.get(header.get("kid", ""))
        if found is None and header.get("kv"):
            found = next((k for k in self.keys.values() if isinstance(k, VaultKey) and k.same_key(header["kv"])), None)
        return found

    @staticmethod
    def _unwrap(kek: bytes | VaultKey, header: dict) -> bytes:
        wrapped = base64.b64decode(header["wrapped"])
        if isinstance(kek, VaultKey):
            if "kv" not in header:
                raise KeyError("kv")  # a locally sealed header under a vault key's id: altered
            return keyvault.unwrap(header["kv"], header.get("alg", kek.algorithm), wrapped)
        if "kv" in header:
            raise KeyError("kv")  # a vault-sealed header under a local key's id
        return aes_key_unwrap(kek, wrapped)


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

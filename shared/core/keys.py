"""The voiceprint key-encryption keys as configured: ``VOICEID_VOICEPRINT_KEYS``, parsed and checked.

Each comma-separated entry is one key-encryption key (KEK); the first seals new blobs, every
listed one opens old blobs. An entry is either

- ``kid:base64key``: a 256-bit key held in the app's memory (AES key wrap; a laptop, a test, or
  a Key Vault *secret* referenced from the app setting), or
- ``https://<vault>/keys/<name>[/<version>][#A256KW]``: a Key Vault or Managed HSM *key*. The KEK
  never leaves the vault: data keys are wrapped and unwrapped there (RSA-OAEP-256 for RSA keys,
  ``#A256KW`` for a Managed HSM AES key). Its id is the URL as written; it is not a secret.

Only the text is read here (settings validate it at start-up); sealing with the keys is
:mod:`shared.storage.sealing`'s job. Errors name the variable and the entry, never the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from shared.core.errors import ConfigError

ENV = "VOICEID_VOICEPRINT_KEYS"
KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
VAULT_KEY = re.compile(r"^(?P<vault>https://[A-Za-z0-9.-]+)/keys/(?P<name>[A-Za-z0-9-]{1,127})"
                       r"(?:/(?P<version>[A-Za-z0-9]{1,64}))?/?(?:#(?P<alg>[A-Za-z0-9_-]+))?$")
WRAP_ALGORITHMS = ("RSA-OAEP-256", "A256KW")


@dataclass(frozen=True)
class VaultKey:
    """A key-encryption key that stays in Key Vault (or Managed HSM): only its id is configured."""

    vault: str  # https://<name>.vault.azure.net
    name: str
    version: str = ""  # empty: the key's current version wraps; the version used is kept in each blob
    algorithm: str = "RSA-OAEP-256"

    @property
    def url(self) -> str:
        return f"{self.vault}/keys/{self.name}" + (f"/{self.version}" if self.version else "")

    def same_key(self, key_id: str) -> bool:
        """Is ``key_id`` (as a blob records it, with a version) a version of this key?"""
        got = VAULT_KEY.match(key_id)
        return bool(got) and (got["vault"].lower(), got["name"]) == (self.vault.lower(), self.name) and (
            not self.version or got["version"] == self.version)


def vault_key(entry: str, number: int = 1) -> VaultKey:
    got = VAULT_KEY.match(entry)
    if not got:
        raise ConfigError(f"{ENV}: entry {number} is not a Key Vault key id "
                          "(https://<vault>.vault.azure.net/keys/<name>[/<version>])")
    algorithm = got["alg"] or "RSA-OAEP-256"
    if algorithm not in WRAP_ALGORITHMS:
        raise ConfigError(f"{ENV}: entry {number} asks for key wrap algorithm {algorithm!r}; "
                          f"use one of {', '.join(WRAP_ALGORITHMS)}")
    return VaultKey(vault=got["vault"], name=got["name"], version=got["version"] or "", algorithm=algorithm)


def new_key_entry(kid: str) -> str:
    """A fresh ``kid:base64key`` entry for ``VOICEID_VOICEPRINT_KEYS`` (``voiceid keygen``)."""
    if not KID.match(kid):
        raise ConfigError("a key id is 1-64 letters, digits, '.', '_' or '-'")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def parse_keys(text: str) -> dict[str, bytes | VaultKey]:
    """``kid:base64key`` and Key Vault key ids -> ``{kid: 32-byte key or VaultKey}`` in the listed order."""
    keys: dict[str, bytes | VaultKey] = {}
    for number, entry in enumerate(p.strip() for p in text.split(",") if p.strip()):
        if entry.lower().startswith("https://"):
            key = vault_key(entry, number + 1)
            if key.url in keys:
                raise ConfigError(f"{ENV}: Key Vault key {key.url} is listed twice")
            keys[key.url] = key
            continue
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

"""Data keys wrapped by a Key Vault key: the SDK's own CryptographyClient, run on local key material.

``CryptographyClient.from_jwk`` performs wrapKey/unwrapKey locally with the same algorithms the
vault uses (RSA-OAEP-256; AES-KW for a Managed HSM AES key), so these tests run the product's
code and the SDK's against keys of their own; only the network hop to a vault is missing (an
offline machine has no vault). Failures the vault answers with are raised as the SDK raises them.
"""

from __future__ import annotations

import json
import os

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.keys import JsonWebKey
from azure.keyvault.keys.crypto import CryptographyClient
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.core import contract
from shared.core.errors import ConfigError, PermanentError, TransientError
from shared.core.keys import describe_keys, new_key_entry, parse_keys
from shared.ops.rotation import rotate
from shared.storage import keyvault
from shared.storage.memory import MemoryStorage
from shared.storage.sealing import Keyring, _header, sealed_kid

DATA = b"\x00voiceprint matrix\xff" * 40
VAULT = "https://bank-voiceid.vault.azure.net"
KEK = f"{VAULT}/keys/voiceprint-kek"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _int(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def rsa_jwk(kid: str) -> JsonWebKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    pub = key.public_numbers
    return JsonWebKey(kid=kid, kty="RSA-HSM", key_ops=["wrapKey", "unwrapKey"], n=_int(pub.n), e=_int(pub.e),
                      d=_int(key.d), p=_int(key.p), q=_int(key.q), dp=_int(key.dmp1), dq=_int(key.dmq1),
                      qi=_int(key.iqmp))


class Vault:
    """Keys by name, each a local CryptographyClient; counts the calls the app makes, and can fail them."""

    def __init__(self):
        self.keys: dict[str, CryptographyClient] = {}
        self.calls: list[str] = []
        self.failure: Exception | None = None

    def add(self, name: str, jwk: JsonWebKey | None = None) -> None:
        self.keys[name] = CryptographyClient.from_jwk(jwk or rsa_jwk(f"{VAULT}/keys/{name}/{VERSION}"))

    def client(self, key_id: str):
        vault = self

        class Client:
            def wrap_key(self, algorithm, key):
                return vault._call("wrap", key_id, lambda c: c.wrap_key(algorithm, key))

            def unwrap_key(self, algorithm, encrypted):
                return vault._call("unwrap", key_id, lambda c: c.unwrap_key(algorithm, encrypted))

        return Client()

    def _call(self, what, key_id, run):
        self.calls.append(what)
        if self.failure is not None:
            raise self.failure
        name = key_id.split("/keys/")[1].split("/")[0]
        if name not in self.keys:
            raise ResourceNotFoundError(message=f"key {name} not found")
        return run(self.keys[name])


@pytest.fixture
def vault():
    v = Vault()
    v.add("voiceprint-kek")
    keyvault.use_clients(v.client)
    yield v
    keyvault.use_clients(None)


def status_error(status: int) -> HttpResponseError:
    err = HttpResponseError(message=f"status {status}")
    err.status_code = status
    return err


def test_a_vault_key_seals_and_the_blob_records_which_version_wrapped(vault):
    ring = Keyring.parse(KEK)
    blob = ring.seal(DATA, "gallery/m/1/shard-0000.npz")
    header, _ = _header(blob)
    assert header["kid"] == KEK and header["kv"] == f"{KEK}/{VERSION}" and header["alg"] == "RSA-OAEP-256"
    assert len(json.loads(json.dumps(header))["wrapped"]) > 300  # a 2,048-bit RSA-OAEP block, not a 40-byte AES-KW
    assert DATA not in blob and sealed_kid(blob) == KEK
    assert ring.open(blob, "gallery/m/1/shard-0000.npz") == DATA
    with pytest.raises(PermanentError) as err:
        ring.open(blob, "gallery/m/1/shard-0001.npz")  # moved
    assert err.value.code == "seal.damaged"


def test_an_unwrapped_data_key_is_cached_in_the_process_and_a_new_process_asks_the_vault(vault):
    ring = Keyring.parse(KEK)
    blob = ring.seal(DATA, "x/y")
    assert vault.calls == ["wrap"]
    for _ in range(3):
        assert ring.open(blob, "x/y") == DATA
    assert vault.calls == ["wrap"]  # the sealing process knows its own data keys
    keyvault.use_clients(vault.client)  # a new process: empty cache
    assert ring.open(blob, "x/y") == DATA and ring.open(blob, "x/y") == DATA
    assert vault.calls == ["wrap", "unwrap"]


def test_a_versioned_entry_opens_blobs_of_that_version_and_another_key_does_not(vault):
    blob = Keyring.parse(KEK).seal(DATA, "x/y")
    keyvault.use_clients(vault.client)
    assert Keyring.parse(f"{KEK}/{VERSION}").open(blob, "x/y") == DATA
    vault.add("other-kek")
    with pytest.raises(PermanentError) as err:
        Keyring.parse(f"{VAULT}/keys/other-kek").open(blob, "x/y")
    assert err.value.code == "seal.key_missing"
    with pytest.raises(PermanentError) as err:
        Keyring.parse(f"{KEK}/{'1' * 32}").open(blob, "x/y")  # the same key name, another version
    assert err.value.code == "seal.key_missing"


def test_a_header_that_mixes_a_local_key_id_with_a_vault_wrap_does_not_open(vault):
    local = new_key_entry("k1")
    ring = Keyring.parse(f"{KEK},{local}")
    blob = ring.seal(DATA, "x/y")
    forged = blob.replace(json.dumps(KEK).encode(), b'"k1"', 1)
    forged = forged[:8] + (int.from_bytes(forged[8:10], "big") - len(KEK) + 2).to_bytes(2, "big") + forged[10:]
    with pytest.raises(PermanentError) as err:
        ring.open(forged, "x/y")
    assert err.value.code == "seal.damaged"


@pytest.mark.parametrize("failure, kind, code", [
    (ServiceRequestError(message="no route to vault"), TransientError, "seal.vault_unavailable"),
    (ServiceResponseError(message="connection reset"), TransientError, "seal.vault_unavailable"),
    (ClientAuthenticationError(message="managed identity endpoint timed out"), TransientError,
     "seal.vault_unavailable"),
    (status_error(429), TransientError, "seal.vault_unavailable"),
    (status_error(503), TransientError, "seal.vault_unavailable"),
    (status_error(403), PermanentError, "seal.vault_denied"),
    (ResourceNotFoundError(message="gone"), PermanentError, "seal.key_missing"),
    (status_error(400), PermanentError, "seal.damaged"),
])
def test_vault_failures_are_transient_only_when_a_retry_can_help(vault, failure, kind, code):
    ring = Keyring.parse(KEK)
    blob = ring.seal(DATA, "x/y")
    keyvault.use_clients(vault.client)
    vault.failure = failure
    for attempt in (lambda: ring.open(blob, "x/y"), lambda: ring.seal(DATA, "x/y")):
        with pytest.raises(kind) as err:
            attempt()
        assert err.value.code == code and (kind is TransientError or err.value.hint)


def test_a_managed_hsm_aes_key_wraps_with_aes_kw(vault):
    hsm = "https://bank.managedhsm.azure.net/keys/aes-kek"
    vault.add("aes-kek", JsonWebKey(kid=f"{hsm}/{VERSION}", kty="oct-HSM", key_ops=["wrapKey", "unwrapKey"],
                                    k=os.urandom(32)))
    ring = Keyring.parse(f"{hsm}#A256KW")
    blob = ring.seal(DATA, "x/y")
    assert _header(blob)[0]["alg"] == "A256KW"
    keyvault.use_clients(vault.client)
    assert ring.open(blob, "x/y") == DATA


def test_rotation_moves_every_blob_from_the_local_key_to_the_vault_and_back(vault):
    local = new_key_entry("local-1")
    storage = MemoryStorage()
    storage.ensure()
    blobs = {(contract.GALLERY, "m/v1/shard-0000.npz"): b"shard", (contract.GALLERY, "m/v1/stats.npz"): b"stats",
             (contract.MATCH_STATE, "req/probe.npy"): b"probe"}
    for (container, name), data in blobs.items():
        storage.write(container, name, Keyring.parse(local).seal(data, f"{container}/{name}"))
    to_vault = Keyring.parse(f"{KEK},{local}")
    assert rotate(storage, to_vault, progress=False).resealed == 3
    keyvault.use_clients(vault.client)  # the next process: only the vault key configured
    for (container, name), data in blobs.items():
        blob = storage.read(container, name)[0]
        assert sealed_kid(blob) == KEK and Keyring.parse(KEK).open(blob, f"{container}/{name}") == data
    back = new_key_entry("local-2")
    assert rotate(storage, Keyring.parse(f"{back},{KEK}"), progress=False).resealed == 3
    vault.keys.clear()  # the vault key may now go: nothing needs it
    keyvault.use_clients(vault.client)
    for (container, name), data in blobs.items():
        assert Keyring.parse(back).open(storage.read(container, name)[0], f"{container}/{name}") == data


@pytest.mark.parametrize("text, says", [
    ("https://v.vault.azure.net/secrets/kek", "not a Key Vault key id"),
    (f"{KEK}#RSA1_5", "key wrap algorithm 'RSA1_5'"),
    (f"{KEK},{KEK}", "listed twice"),
])
def test_bad_vault_entries_are_refused_naming_the_entry(text, says):
    with pytest.raises(ConfigError, match=says):
        parse_keys(text)


def test_the_vault_key_id_may_be_shown_and_a_local_key_never():
    local = new_key_entry("k1")
    shown = describe_keys(f"{KEK},{local}")
    assert KEK in shown and local.split(":")[1] not in shown

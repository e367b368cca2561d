"""Data keys wrapped by a Key Vault (or Managed HSM) key: the key-encryption key never leaves the vault.

A :class:`~shared.core.keys.VaultKey` entry in ``VOICEID_VOICEPRINT_KEYS`` makes the vault the
sealer: every blob's random data key is sent to the vault's ``wrapKey`` (RSA-OAEP-256, or AES-KW
on a Managed HSM AES key) and comes back wrapped; reading a blob asks ``unwrapKey``. The app needs
only the *Key Vault Crypto User* role on that one key (``infra/main.bicep``), holds no key
material, and a vault audit log shows every unwrap.

An unwrap is a network call. Blobs are read often (a match worker opens its shard on every cold
start, the statistics on every score), so unwrapped data keys are kept in a bounded in-process
cache keyed by the vault key and the wrapped bytes; a data key is in memory while its blob is open anyway, and the
cache dies with the process. Errors: a vault that cannot be reached, throttles (429) or fails
(5xx) is transient (the input is retried); a key that is gone or disabled, or an app without the
role, is permanent for that blob and says what to fix.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from shared.core.errors import PermanentError, TransientError
from shared.core.keys import ENV, VAULT_KEY, VaultKey

CACHE_SIZE = 4096  # unwrapped data keys kept (~100 bytes each)
_cache: OrderedDict[bytes, bytes] = OrderedDict()
_lock = threading.Lock()
_clients: dict[str, object] = {}


def default_client(key_id: str):
    """The SDK's client for one key, signed in as the app's managed identity (or ``az login``)."""
    from azure.keyvault.keys.crypto import CryptographyClient

    from shared.storage.credentials import token_credential

    return CryptographyClient(key_id, token_credential())


_factory: Callable[[str], object] = default_client


def use_clients(factory: Callable[[str], object] | None) -> None:
    """Where the clients come from (``None``: the SDK's, on the network). Tests give clients of local keys."""
    global _factory
    _factory = factory or default_client
    _clients.clear()
    with _lock:
        _cache.clear()


def _client(key_id: str):
    if key_id not in _clients:
        _clients[key_id] = _factory(key_id)
    return _clients[key_id]


def _failure(exc: Exception, key_id: str, operation: str) -> Exception:
    """Our error for an SDK failure: transient when a retry can help, else permanent with what to fix."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    status = getattr(exc, "status_code", None)
    network = isinstance(exc, (ServiceRequestError, ServiceResponseError))
    no_token = isinstance(exc, ClientAuthenticationError) and status is None  # the identity endpoint did not answer
    if network or no_token or status in (408, 429) or (status or 0) >= 500:
        return TransientError(f"Key Vault {operation} on {key_id} failed ({type(exc).__name__}, status {status}); "
                              "it is retried", code="seal.vault_unavailable")
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return PermanentError(f"Key Vault key {key_id} does not exist (deleted, or another vault)",
                              code="seal.key_missing",
                              hint="Recover the key from soft delete; blobs sealed by it open only with it.")
    if status in (401, 403):
        return PermanentError(f"the app may not {operation} with {key_id} (status {status})", code="seal.vault_denied",
                              hint="Grant the app's identity 'Key Vault Crypto User' on that key (infra/main.bicep).")
    if isinstance(exc, HttpResponseError):  # 400: a disabled key, an algorithm the key does not support, bad bytes
        return PermanentError(f"Key Vault refused to {operation} with {key_id}: {exc.message}", code="seal.damaged",
                              hint=f"Check that the key is enabled and allows {operation}, and the algorithm in {ENV}.")
    return PermanentError(f"{operation} with {key_id} failed: {exc}", code="seal.damaged")


def wrap(key: VaultKey, data_key: bytes) -> tuple[bytes, str]:
    """``data_key`` wrapped by the vault key; and the key id, with its version, that wrapped it."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.keys.crypto import KeyWrapAlgorithm

    try:
        result = _client(key.url).wrap_key(KeyWrapAlgorithm(key.algorithm), data_key)
    except AzureError as exc:
        raise _failure(exc, key.url, "wrapKey") from exc
    wrapped = bytes(result.encrypted_key)
    _remember(key.url, wrapped, data_key)
    return wrapped, result.key_id or key.url


def unwrap(key_id: str, algorithm: str, wrapped: bytes) -> bytes:
    """The data key of a blob, unwrapped by the vault (or the cache of this process)."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.keys.crypto import KeyWrapAlgorithm

    digest = _digest(key_id, wrapped)
    with _lock:
        found = _cache.get(digest)
        if found is not None:
            _cache.move_to_end(digest)
            return found
    try:
        data_key = bytes(_client(key_id).unwrap_key(KeyWrapAlgorithm(algorithm), wrapped).key)
    except AzureError as exc:
        raise _failure(exc, key_id, "unwrapKey") from exc
    except ValueError as exc:  # the local provider's way of saying the bytes do not unwrap
        raise PermanentError(f"a data key does not unwrap with {key_id}", code="seal.damaged") from exc
    _remember(key_id, wrapped, data_key)
    return data_key


def _digest(key_id: str, wrapped: bytes) -> bytes:
    """The cache key: the vault key (any version) and the wrapped bytes, so no other key's blob hits it."""
    got = VAULT_KEY.match(key_id)
    name = f"{got['vault'].lower()}/{got['name']}" if got else key_id
    return hashlib.sha256(name.encode() + b"|" + wrapped).digest()


def _remember(key_id: str, wrapped: bytes, data_key: bytes) -> None:
    with _lock:
        _cache[_digest(key_id, wrapped)] = data_key
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)

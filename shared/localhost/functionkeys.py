"""Function keys, kept where the Functions host keeps them: the ``azure-webjobs-secrets`` container.

The host authorises ``authLevel: function`` requests before the function runs: the key comes in
the ``x-functions-key`` header or the ``code`` query parameter and must be one of the function's
keys (``<host id>/<function>.json``) or a host key (``<host id>/host.json``: master and function
keys). The local host does the same with the same blobs, so ``voiceid api key`` reads the key a
client needs. Keys are made on first use from 32 random bytes and are never logged.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time

from shared.storage.base import ConcurrencyConflict, Storage

SECRETS = "azure-webjobs-secrets"
LOCAL_HOST_ID = "voiceid-local"


def new_key() -> str:
    """A key in the shape Azure makes them (URL-safe base64 of random bytes, no padding)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(40)).decode("ascii").rstrip("=")


def presented_key(headers: dict[str, str], params: dict[str, str]) -> str | None:
    """The key a request carries: the header wins over ``?code=`` (as on Azure)."""
    return headers.get("x-functions-key") or params.get("code") or None


class FunctionKeys:
    """The keys of one host id: read them, make them on first use, check a presented key."""

    def __init__(self, storage: Storage, host_id: str = LOCAL_HOST_ID, cache_s: float = 10.0):
        self.storage = storage
        self.host_id = host_id
        self.cache_s = cache_s  # a key added or revoked in storage counts after at most this long
        self._cache: dict[str, tuple[float, dict]] = {}

    def _doc(self, name: str, make: dict) -> dict:
        cached = self._cache.get(name)
        if cached and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        doc = self._read_or_make(name, make)
        self._cache[name] = (time.monotonic(), doc)
        return doc

    def _read_or_make(self, name: str, make: dict) -> dict:
        blob = f"{self.host_id}/{name}.json"
        doc = self.storage.read_json(SECRETS, blob)
        if doc is not None:
            return doc
        self.storage.ensure_container(SECRETS)
        try:
            self.storage.write_json(SECRETS, blob, make, if_none_match=True)
        except ConcurrencyConflict:  # another host made them first: use theirs
            pass
        return self.storage.read_json(SECRETS, blob) or make

    def function_keys(self, function: str) -> dict[str, str]:
        """``{key name: value}`` of ``function`` (``default`` is made when there is none)."""
        doc = self._doc(function.lower(), {"keys": [{"name": "default", "value": new_key(), "encrypted": False}]})
        return {k["name"]: k["value"] for k in doc.get("keys", [])}

    def host_keys(self) -> dict[str, str]:
        """The master key and the host-wide function keys (each opens every function)."""
        doc = self._doc("host", {"masterKey": {"name": "master", "value": new_key(), "encrypted": False},
                                 "functionKeys": [{"name": "default", "value": new_key(), "encrypted": False}]})
        keys = {"master": doc["masterKey"]["value"]} if doc.get("masterKey") else {}
        keys.update({f"host:{k['name']}": k["value"] for k in doc.get("functionKeys", [])})
        return keys

    def authorize(self, function: str, presented: str | None) -> str | None:
        """The name of the key that matches (compared in constant time), or None."""
        if not presented:
            return None
        found = None
        for name, value in {**self.function_keys(function), **self.host_keys()}.items():
            if hmac.compare_digest(value.encode(), presented.encode()):
                found = name
        return found

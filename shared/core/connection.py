"""The storage connection as the Azure Functions host reads it from the app settings.

``AzureWebJobsStorage`` is a connection string (Azurite's ``UseDevelopmentStorage=true`` by
default). On Azure the app holds no storage key: ``AzureWebJobsStorage`` is unset and
``AzureWebJobsStorage__accountName`` (or ``__blobServiceUri`` and ``__queueServiceUri``) names
the account; :func:`endpoints_connection` turns those into an endpoints-only connection string,
so the rest of the code passes one string around (:mod:`shared.storage.credentials` then signs
in with the app's identity). :func:`mask` is what a log or ``repr`` may show of a connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from shared.core.errors import ConfigError

DEV_STORAGE = "UseDevelopmentStorage=true"
PREFIX = "AzureWebJobsStorage__"


def endpoints_connection(env: Mapping[str, str]) -> str | None:
    """An endpoints-only connection string from ``AzureWebJobsStorage__*`` settings; None when not set."""
    account = env.get(PREFIX + "accountName", "")
    blob = env.get(PREFIX + "blobServiceUri") or (f"https://{account}.blob.core.windows.net" if account else "")
    queue = env.get(PREFIX + "queueServiceUri") or (f"https://{account}.queue.core.windows.net" if account else "")
    if not blob:
        return None
    if not queue:
        raise ConfigError(f"{PREFIX}blobServiceUri is set without {PREFIX}queueServiceUri; set both "
                         f"(or {PREFIX}accountName alone)")
    return f"BlobEndpoint={blob.rstrip('/')};QueueEndpoint={queue.rstrip('/')}"


def mask(conn: str) -> str:
    """The connection string with its account key and SAS signature replaced by ``***``."""
    return re.sub(r"(AccountKey|SharedAccessSignature|sig)=[^;]+", r"\1=***", conn)

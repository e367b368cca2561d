"""Credentials of identity-based storage connections (a managed identity, or ``az login``).

On Azure the app holds no storage key: ``AzureWebJobsStorage`` is unset and
``AzureWebJobsStorage__accountName`` (or ``__blobServiceUri`` and ``__queueServiceUri``)
names the account, ``AzureWebJobsStorage__credential=managedidentity`` and
``AzureWebJobsStorage__clientId`` pick the user-assigned managed identity. The product's
own clients then authenticate with the same identity, so one role assignment covers the
host and the code. An operator's laptop without those two settings signs in with
``DefaultAzureCredential`` (``az login``) instead.

:func:`shared.core.connection.endpoints_connection` turns the settings into a connection string that holds
endpoints only, so the rest of the code keeps passing one string around; a string
without ``AccountKey``, ``SharedAccessSignature`` or ``UseDevelopmentStorage`` gets a
token credential from :func:`token_credential`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from shared.core.connection import PREFIX

_SECRET_PARTS = re.compile(r"(AccountKey|SharedAccessSignature|UseDevelopmentStorage)=", re.IGNORECASE)


def needs_token(connection_string: str) -> bool:
    """Does this connection string carry no credential of its own (an identity-based connection)?"""
    return not _SECRET_PARTS.search(connection_string)


def token_credential(env: Mapping[str, str] | None = None):
    """The managed identity the settings name, else ``DefaultAzureCredential`` (az login, workload identity)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    env = os.environ if env is None else env
    if env.get(PREFIX + "credential", "").lower() == "managedidentity":
        return ManagedIdentityCredential(client_id=env.get(PREFIX + "clientId") or None)
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)

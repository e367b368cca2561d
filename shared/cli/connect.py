"""What every CLI command that talks to a running deployment starts with: a client, and uploads with progress."""

from __future__ import annotations

from pathlib import Path

from shared.client.voiceid import VoiceId
from shared.storage.endpoints import local_endpoint_down


def make_client():
    """A client for AzureWebJobsStorage; a local endpoint that is not listening fails at once, with what to do."""
    client = VoiceId()
    down = local_endpoint_down(client.storage.blobs.url)
    if down:
        raise SystemExit(f"voiceid: nothing listens on {down} (Azurite). "
                         "Start it and the host with 'voiceid up' in another terminal, or set AzureWebJobsStorage.")
    return client


def upload_and_wait(client, container: str, pairs: list[tuple[str, Path]], *, wait: bool,
                    timeout_s: float) -> list[dict]:
    """Upload every file (progress bar), then wait for each result (progress bar)."""
    from tqdm import tqdm

    etags = {}
    for blob, path in tqdm(pairs, desc="upload", unit="file", disable=len(pairs) < 2):
        etags[blob] = client.upload(container, blob, path)
    if not wait:
        return []
    return [client.wait_result(container, blob, etags[blob], timeout_s)
            for blob, _ in tqdm(pairs, desc="results", unit="file", disable=len(pairs) < 2)]


def connected_storage():
    """The storage of AzureWebJobsStorage, failing fast (with what to do) when a local Azurite is not up."""
    return make_client().storage

"""The storage contract: container and queue names that scripts and operators rely on, and blob names.

Changing any of these breaks users; docs/architecture.md documents them. Every blob name
that two stages share (a request's probe and partials, a speaker's tombstone and lockout)
is built here, so no stage imports another to learn where the first one put something.
"""

from __future__ import annotations

import hashlib

ENROLL = "enroll"  # enroll/<speaker>/<file> or enroll/<speaker>.<ext>
IDENTIFY = "identify"  # identify/<file> (1:N) or identify/<claimed>/<file> (1:1)
RESULTS = "results"  # results/<container>/<blob>.json, one per input blob
GALLERY = "gallery"  # gallery/<model key>/shard-NNNN.npz, packed voiceprints
WATCHLIST = "watchlist"  # watchlist/<case id>/<file>: voices of confirmed fraud cases
WATCHLIST_GALLERY = "watchlist/"  # gallery/watchlist/<model key>/shard-0000.npz, the cases' voiceprints
MATCH_STATE = "match-state"  # probes and shard partials of requests in flight
MATCH_QUEUE = "match-jobs"  # one message per (request, shard)
POISON_SUFFIX = "-poison"
AUDIT = "audit"  # audit/<yyyy>/<mm>/<dd>/<hh>.jsonl, append-only events (who, what, when)
AUDIT_ACTIONS = ("enroll", "identify", "verify", "delete", "lockout", "discard", "replay", "rotate_key", "adapt",
                 "watchlist", "watchlist_upload", "watchlist_remove", "review")
TOMBSTONES = "tombstones/"  # gallery/tombstones/<key hash>.json: an erased speaker (no name inside)
REVIEWS = "reviews/"  # gallery/reviews/<request id>.json: enrolments held for an operator (pipeline/review.py)
LOCKOUTS = "lockouts/"  # gallery/lockouts/<key hash>.json: failed verifications of a claimed identity
HOSTS = "azure-webjobs-hosts"  # blob receipts, as the Functions host keeps them
RECEIPTS = "blobreceipts/"  # HOSTS/blobreceipts/<host id>/<function id>/<etag>/<container>/<blob>
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"  # blobs whose trigger failed poisonBlobThreshold times

CONTAINERS = (ENROLL, IDENTIFY, RESULTS, GALLERY, MATCH_STATE, AUDIT, WATCHLIST)
QUEUES = (MATCH_QUEUE, MATCH_QUEUE + POISON_SUFFIX, BLOB_POISON_QUEUE)


def receipt_target(receipt: str) -> tuple[str, str] | None:
    """``blobreceipts/<host>/<function>/<etag>/<container>/<blob>`` -> (container, blob); None for other names."""
    parts = receipt.split("/", 5)
    return (parts[4], parts[5]) if len(parts) == 6 and parts[0] + "/" == RECEIPTS else None


def result_blob_name(container: str, blob: str) -> str:
    """Where the result of ``<container>/<blob>`` lives inside ``results``."""
    return f"{container}/{blob}.json"


def probe_blob(request_id: str) -> str:
    """The probe embedding of a request in flight, in ``match-state`` (written by identify, read by match)."""
    return f"{request_id}/probe.npy"


def partial_prefix(request_id: str) -> str:
    """The shard partials of a request, ``<request>/partial-NNNN.json`` in ``match-state``."""
    return f"{request_id}/partial-"


def key_hash(key: str) -> str:
    """The speaker key as stored by tombstones and lockouts: no name at rest outside the gallery."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def tombstone_blob(key: str) -> str:
    """``gallery/tombstones/<key hash>.json``: the speaker was erased (its time is the blob's)."""
    return f"{TOMBSTONES}{key_hash(key)}.json"


def lock_blob(key: str) -> str:
    """``gallery/lockouts/<key hash>.json``: failed verifications of a claimed speaker."""
    return f"{LOCKOUTS}{key_hash(key)}.json"

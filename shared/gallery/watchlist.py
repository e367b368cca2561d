"""The fraud watchlist's gallery: voiceprints of confirmed fraud cases, beside the customers' gallery.

A :class:`~shared.gallery.store.Gallery` under the ``watchlist/`` prefix of the ``gallery``
container (``gallery/watchlist/<model name>/<model version>/shard-0000.npz``): sealed with
the same keys, versioned by the same model id, written with the same conditional writes. One
case is one "speaker" (its case id the name). A watchlist is small (cases, not customers), so
it is one shard, and every probe is scored against all of it.
"""

from __future__ import annotations

from shared.core import contract
from shared.core.models import ModelInfo
from shared.gallery.store import Gallery, stored_models
from shared.storage.base import Storage
from shared.storage.sealing import Keyring

SHARDS = 1


def watchlist_gallery(storage: Storage, model: ModelInfo, keyring: Keyring | None = None) -> Gallery:
    """The watchlist of ``model`` (its voiceprints are scored only against probes of the same model)."""
    return Gallery(storage, model, SHARDS, keyring, namespace=contract.WATCHLIST_GALLERY)


def watchlist_models(storage: Storage) -> list[str]:
    """The model ids (``name@version``) that have watchlist voiceprints."""
    return stored_models(storage, contract.WATCHLIST_GALLERY)


def stored_watchlists(storage: Storage, keyring: Keyring | None = None) -> list[Gallery]:
    """A reader of every model's watchlist (dimension unknown until its shard is read)."""
    return [watchlist_gallery(storage, ModelInfo.from_id(m, dim=0), keyring) for m in watchlist_models(storage)]


def cases(storage: Storage, keyring: Keyring | None = None) -> list[dict]:
    """Every case with its voiceprint count, per model: ``{case, key, voiceprints, model_id, added_at}``; no embeddings."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for gallery in stored_watchlists(storage, keyring):
        for e in gallery.load(0).entries:
            grouped.setdefault((gallery.model.id, e["key"]), []).append(e)
    rows = [{"case": es[0]["speaker"], "key": key, "voiceprints": len(es), "model_id": model_id,
             "added_at": min((e.get("created_at") or "" for e in es), default="")}
            for (model_id, key), es in grouped.items()]
    return sorted(rows, key=lambda r: (r["case"].casefold(), r["model_id"]))


def drop_case(storage: Storage, key: str, keyring: Keyring | None = None) -> tuple[int, list[str]]:
    """Remove every voiceprint of case ``key`` from every model's watchlist; (voiceprints removed, models touched)."""
    removed, touched = 0, []
    for gallery in stored_watchlists(storage, keyring):
        count = gallery.drop_key(key)
        if count:
            removed += count
            touched.append(gallery.model.id)
    return removed, touched

"""The fraud watchlist, measured: how many calls of listed fraudsters it flags, and how many innocent callers.

A spec names three groups of files: the customer gallery (its statistics calibrate every
score, as in the deployment), the watchlist cases, and probes labelled with their case or
``null`` (someone not on the watchlist). Each probe is screened exactly as the pipeline
screens it (:func:`shared.scoring.watchlist.screen`). Probes the front end would refuse
(too little speech, undecodable) are counted apart, as failures to acquire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError
from shared.evaluation import metrics
from shared.evaluation.embedcache import FileEmbedding
from shared.evaluation.trials import enrol_bands, enrol_models, vector_of
from shared.scoring.stats import Params, build
from shared.scoring.watchlist import screen, watchlist_threshold

TARGET_FARS = (0.01, 0.001, 0.0001)  # the operating points every report lists beside the product's own


@dataclass(frozen=True)
class WatchlistSpec:
    """``{"gallery": {customer: [paths]}, "watchlist": {case: [paths]}, "probes": [{"path", "case" or null}]}``."""

    gallery: dict[str, list[str]]
    watchlist: dict[str, list[str]]
    probes: list[tuple[str, str | None]]

    def files(self) -> set[str]:
        groups = list(self.gallery.values()) + list(self.watchlist.values())
        return {f for paths in groups for f in paths} | {p for p, _ in self.probes}

    @classmethod
    def from_dict(cls, spec: dict) -> WatchlistSpec:
        gallery = {str(k): [str(p) for p in v] for k, v in spec["gallery"].items()}
        watch = {str(k): [str(p) for p in v] for k, v in spec["watchlist"].items()}
        probes = [(str(p["path"]), None if p.get("case") is None else str(p["case"])) for p in spec["probes"]]
        if not watch or not probes:
            raise ValueError("the watchlist and the probes must not be empty")
        unknown = {c for _, c in probes if c is not None} - set(watch)
        if unknown:
            raise ValueError(f"probes name cases that are not on the watchlist: {sorted(unknown)[:3]}")
        return cls(gallery=gallery, watchlist=watch, probes=probes)


def read_spec(path: Path) -> WatchlistSpec:
    try:
        return WatchlistSpec.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"{path} is not a watchlist spec: {exc}", code="eval.bad_spec",
                             hint='Expected {"gallery": {"name": ["a.flac"]}, "watchlist": {"case": ["b.flac"]}, '
                                  '"probes": [{"path": "c.flac", "case": "case" or null}]}.') from exc


@dataclass(frozen=True)
class _Cases:
    """The watchlist as :func:`~shared.scoring.watchlist.screen` reads a shard."""

    keys: tuple[str, ...]
    models: np.ndarray = field(repr=False)
    names: dict[str, str]
    bands: tuple[str, ...]


def _rates(flagged: np.ndarray, right: np.ndarray, listed: np.ndarray) -> dict:
    hits, n_listed = int((flagged & listed).sum()), int(listed.sum())
    alarms, n_other = int((flagged & ~listed).sum()), int((~listed).sum())
    return {"detected": hits, "listed_probes": n_listed,
            "detection_rate": 100.0 * hits / max(n_listed, 1),
            "detection_ci": list(metrics.wilson(hits, n_listed)),
            "right_case": int((flagged & right & listed).sum()),
            "false_alarms": alarms, "other_probes": n_other,
            "false_alarm_rate": 100.0 * alarms / max(n_other, 1),
            "false_alarm_ci": list(metrics.wilson(alarms, n_other))}


def score_watchlist(spec: WatchlistSpec, emb: dict[str, FileEmbedding], model_id: str, target_far: float,
                    min_speech_s: float, params: Params = Params(), tail: str = "gpd") -> dict:
    """Screen every probe; detection and false-alarm rates at ``target_far`` and at :data:`TARGET_FARS`."""
    names = sorted(spec.gallery)
    keys, models = enrol_models((tuple(spec.gallery[n]) for n in names), emb)
    stats = build(keys, models, model_id, params=params, bands=enrol_bands(keys, emb)).tail_model(tail)
    cases = sorted(spec.watchlist)
    case_keys, case_models = enrol_models((tuple(spec.watchlist[c]) for c in cases), emb)
    by_key = {",".join(spec.watchlist[c]): c for c in cases}
    watch = _Cases(keys=tuple(case_keys), models=case_models, names=by_key,
                   bands=tuple(enrol_bands(case_keys, emb)))
    dim = case_models.shape[1]
    kept = [(p, c) for p, c in spec.probes if emb[p].gate(min_speech_s) is None]
    listed = np.array([c is not None for _, c in kept], bool)
    points, rows = {}, []
    for far in sorted({*TARGET_FARS, target_far}, reverse=True):
        flagged, right = [], []
        for path, case in kept:  # exactly the pipeline's screening, at this operating point
            found = screen(vector_of(emb[path], dim), watch, stats, far, emb[path].band)
            flagged.append(found.matched)
            right.append(found.matched and found.hits[0].case == case)
            if far == target_far:
                rows.append({"path": path, "case": case, "hits": found.public()})
        points[f"{far:g}"] = {"target_far": far, "threshold": watchlist_threshold(far, len(cases)),
                              **_rates(np.array(flagged, bool), np.array(right, bool), listed)}
    return {"cases": len(cases), "customers": len(names), "probes": len(spec.probes),
            "failures_to_acquire": len(spec.probes) - len(kept), "target_far": target_far,
            "at_target": points[f"{target_far:g}"], "points": points, "calibration": stats.summary(),
            "probe_results": rows}

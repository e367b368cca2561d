"""Open-set identification: enrol a gallery, identify probes, count the unknowns let through.

Scores come from the product's own path (the gallery's statistics, calibration and the 1:N
threshold of :func:`~shared.scoring.calibration.identify_threshold`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError
from shared.evaluation import metrics as evaluation
from shared.evaluation.embedcache import FileEmbedding
from shared.evaluation.trials import enrol_bands, enrol_models, vector_of
from shared.scoring.calibration import identify_threshold
from shared.scoring.stats import Params, build


def read_openset(path: Path) -> tuple[dict[str, list[str]], list[tuple[str, str | None]]]:
    """``{"gallery": {speaker: [paths]}, "probes": [{"path", "speaker" or null}]}``."""
    try:
        spec = json.loads(path.read_text())
        gallery = {str(k): [str(p) for p in v] for k, v in spec["gallery"].items()}
        probes = [(str(p["path"]), p.get("speaker")) for p in spec["probes"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"{path} is not an open-set spec: {exc}", code="eval.bad_spec",
                             hint='Expected {"gallery": {"name": ["a.flac"]}, "probes": '
                                  '[{"path": "b.flac", "speaker": "name" or null}]}.') from exc
    return gallery, probes


def score_openset(gallery: dict[str, list[str]], probes: list[tuple[str, str | None]],
                  emb: dict[str, FileEmbedding], model_id: str, target_far: float,
                  params: Params = Params(), tail: str = "gpd") -> dict:
    """Top-1 identification with the product's scores; DIR at 1 % false alarms and at the product's threshold.

    ``tail``: the tail model (``VOICEID_SCORE_TAIL``)."""
    names = sorted(gallery)
    keys, models = enrol_models((tuple(gallery[n]) for n in names), emb)
    by_key = {",".join(gallery[n]): n for n in names}
    bands = enrol_bands(keys, emb)
    stats = build(keys, models, model_id, params=params, bands=bands).tail_model(tail)
    dim = models.shape[1]
    best, correct, known, rows = [], [], [], []
    for path, speaker in probes:
        ranked = sorted(stats.score(vector_of(emb[path], dim), keys, models, emb[path].band, bands),
                        key=lambda s: -s.score)
        top = by_key[ranked[0].key]
        best.append(ranked[0].score)
        correct.append(top == speaker)
        known.append(speaker is not None)
        rows.append({"path": path, "speaker": speaker, "top": top, "score": round(ranked[0].score, 4)})
    best, correct, known = np.array(best), np.array(correct), np.array(known)
    threshold = identify_threshold(target_far, stats.speakers)
    own = (best >= threshold)
    report = evaluation.open_set(best, correct, known, fa_rate=0.01)
    report.update({
        "known_probes": int(known.sum()),
        "own_threshold": threshold,
        "own_dir": float(100 * (own & correct & known).sum() / max(known.sum(), 1)),
        "own_false_alarms": int((own & ~known).sum()),
        "calibration": stats.summary(),
        "probes": rows,
    })
    return report

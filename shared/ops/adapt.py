"""``voiceid adapt``: learn a back-end from the gallery's own voiceprints; keep it only if held-back speakers say so.

The gallery holds what a back-end needs: several voiceprints per enrolled customer, labelled by
speaker. This reads every voiceprint of one model's gallery (no audio: the stored embeddings),
keeps the speakers with at least two, evaluates the method on held-back speakers
(:func:`shared.evaluation.adaptation.evaluate`) and, only when it is better
(:func:`~shared.evaluation.adaptation.better`), learns it on all of them and writes the artefact
with the before/after table inside. Using it is then two steps an operator takes on purpose:
``voiceid reembed --adaptation FILE`` builds the adapted gallery beside the old one, and
``VOICEID_ADAPTATION=FILE`` on the app switches scoring to it. Every run is audited.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.settings import Settings
from shared.embedding.adaptation import SHRINK, fit
from shared.evaluation.adaptation import better, evaluate
from shared.gallery.store import Gallery, stored_models
from shared.results import audit
from shared.storage.base import Storage
from shared.storage.sealing import keyring

MIN_SPEAKERS = 20  # speakers with two or more voiceprints a held-back evaluation needs to mean anything


@dataclass
class AdaptReport:
    """What ``voiceid adapt`` measured and decided."""

    source: str
    method: str
    speakers: int
    voiceprints: int
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    promoted: bool = False
    why: str = ""
    adapted: str | None = None  # the adapted model id, when promoted
    out: str | None = None


def source_gallery(storage: Storage, chosen: str | None) -> str:
    """The gallery to adapt: ``chosen``, else the only stored gallery of a model that is not adapted already."""
    stored = stored_models(storage)
    if chosen:
        if chosen not in stored:
            raise PermanentError(f"no gallery of model {chosen!r} (stored: {', '.join(stored) or 'none'})",
                                 code="adapt.no_gallery", hint="Pick one of the stored ids with --from.")
        return chosen
    base = [m for m in stored if "+" not in m.partition("@")[0]]
    if len(base) != 1:
        raise PermanentError("nothing to adapt: the gallery is empty" if not base else
                             f"several galleries are stored ({', '.join(base)})", code="adapt.no_gallery",
                             hint="Enrol speakers first, or pick a gallery with --from." if not base else
                             "Pick one with --from.")
    return base[0]


def voiceprints(storage: Storage, model_id: str, settings: Settings) -> tuple[np.ndarray, list[str]]:
    """Every voiceprint of the gallery (each once) and its speaker key."""
    gallery = Gallery(storage, ModelInfo.from_id(model_id, dim=0), settings.shard_count,
                      keyring(settings.voiceprint_keys))
    seen, rows, keys = set(), [], []
    for shard in gallery.load_all():
        for i, entry in enumerate(shard.entries):
            if entry["voiceprint_id"] not in seen:
                seen.add(entry["voiceprint_id"])
                rows.append(shard.matrix[i])
                keys.append(entry["key"])
    return (np.stack(rows) if rows else np.zeros((0, 0), np.float32)), keys


def adapt(storage: Storage, settings: Settings, out: Path, *, source: str | None = None, method: str = "wccn",
          folds: int = 5, min_speakers: int = MIN_SPEAKERS, progress=iter) -> AdaptReport:
    """Evaluate ``method`` on held-back speakers of the gallery; write ``out`` only when it is better."""
    model_id = source_gallery(storage, source)
    vectors, keys = voiceprints(storage, model_id, settings)
    counts = Counter(keys)
    keep = [i for i, k in enumerate(keys) if counts[k] >= 2]
    speakers = len({keys[i] for i in keep})
    report = AdaptReport(source=model_id, method=method, speakers=speakers, voiceprints=len(keep))
    if speakers < min_speakers:
        raise PermanentError(f"{model_id} has {speakers} speakers with two or more voiceprints; adapting needs "
                             f"at least {min_speakers}", code="adapt.too_few_speakers",
                             hint="Enrol more files per speaker (each enrolment file is a voiceprint), then run it again.")
    x, labels = vectors[keep], [keys[i] for i in keep]
    base, adapted = evaluate(x, labels, model_id, method, folds, progress)
    if not base.labels.any() or base.labels.all():
        raise PermanentError(f"{speakers} speakers in {folds} folds leave no target or no impostor trial to judge by",
                             code="adapt.too_few_speakers", hint="Use fewer --folds, or enrol more speakers.")
    report.before, report.after = base.report(settings.target_far), adapted.report(settings.target_far)
    report.promoted, report.why = better(report.before, report.after, settings.target_far)
    if report.promoted:
        learned = fit(x, labels, model_id, method, provenance={
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "speakers": speakers,
            "voiceprints": len(keep), "folds": folds, "shrink": SHRINK, "target_far": settings.target_far,
            "evaluation": {"before": report.before, "after": report.after, "why": report.why}})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(learned.to_bytes())
        report.adapted, report.out = learned.info().id, str(out)
    audit.record(storage, "adapt", actor=audit.operator(), outcome="promoted" if report.promoted else "not_promoted",
                 model=model_id, adapted=report.adapted, method=method, speakers=speakers,
                 eer_before=round(report.before["eer"], 3), eer_after=round(report.after["eer"], 3))
    return report


def as_json(report: AdaptReport) -> dict:
    return asdict(report)

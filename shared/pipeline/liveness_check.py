"""The liveness check every enrol, verify and identify input goes through, after its embedding.

``VOICEID_LIVENESS`` (enrol, verify) and ``VOICEID_LIVENESS_IDENTIFY`` (1:N search) say what an
``attack`` decision does: ``reject`` ends the request as a ``rejected`` result with code
``liveness.attack`` (nothing enrolled, nothing scored); ``flag`` reports it in the result's
``liveness`` object and goes on; ``off`` skips the detector (``liveness: null``). Every decision is
in the result and in its audit event, and a verification called an attack counts against the
claimed speaker's lockout (:mod:`shared.pipeline.fanin`, :mod:`shared.pipeline.identify`).

The detector is loaded once per process, like the speaker model. It reads the speaker model's taps
from the embedding pass when the pipeline's model is the one the back-end was trained with, and
embeds the clip with that ECAPA itself otherwise (a fused or other model costs one more pass).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

from shared.core.errors import PermanentError, TransientError
from shared.core.paths import team_kit
from shared.core.settings import Settings, liveness_policy
from shared.embedding.embedder import get_embedder, resolve_device
from shared.embedding.frontend import Embedded
from shared.liveness.detector import Liveness, LivenessDetector
from shared.liveness.model import SHIPPED, LivenessModel

log = logging.getLogger(__name__)
_lock = threading.Lock()
_detectors: dict[tuple, LivenessDetector] = {}


PACKAGED = Path(__file__).resolve().parents[1] / "liveness" / "aasist"  # put there by `voiceid package`


def aasist_weights(settings: Settings) -> Path:
    """``VOICEID_LIVENESS_WEIGHTS``, else the package's copy (Azure), else the team kit's ``models/aasist`` beside
    the project, else the model cache's."""
    if settings.liveness_weights:
        return Path(settings.liveness_weights).expanduser()
    if (PACKAGED / "AASIST.pth").is_file():
        return PACKAGED
    kit = team_kit()
    if kit is not None and (kit / "models" / "aasist").is_dir():
        return kit / "models" / "aasist"
    return Path(settings.model_cache).expanduser() / "aasist"


def get_detector(settings: Settings) -> LivenessDetector:
    """The process's detector for these settings (loaded on first use)."""
    key = (settings.liveness_model, settings.liveness_weights, settings.device)
    with _lock:
        if key not in _detectors:
            path = Path(settings.liveness_model).expanduser() if settings.liveness_model else SHIPPED
            try:
                model = LivenessModel.read(path)
                _detectors[key] = LivenessDetector(model, aasist_weights(settings), device=resolve_device(settings.device))
            except (OSError, ValueError, KeyError) as exc:
                raise TransientError(f"cannot load the liveness detector {path}: {exc}", code="liveness.unavailable",
                                     hint="Set VOICEID_LIVENESS_MODEL to a model from `voiceid liveness train` and "
                                          "VOICEID_LIVENESS_WEIGHTS to the AASIST weights folder, or "
                                          "VOICEID_LIVENESS=off to run without a liveness check.") from exc
            log.info("loaded liveness detector %s", _detectors[key].model.id)
        return _detectors[key]


def speaker_taps(detector: LivenessDetector, emb: Embedded, settings: Settings) -> dict:
    """The speaker-model parts the back-end reads: from the pipeline's own pass when its model is the same."""
    if emb.taps_model == detector.speaker_model and all(p in emb.taps for p in detector.speaker_parts):
        return emb.taps
    ecapa = get_embedder(replace(settings, model="ecapa", model_source=""))
    if ecapa.info.id != detector.speaker_model:
        raise TransientError(f"the liveness model was trained on {detector.speaker_model}, not {ecapa.info.id}",
                             code="liveness.unavailable",
                             hint="Retrain it with `voiceid liveness train` on this speaker model.")
    return ecapa.embed_with_taps(emb.samples, window_s=settings.embed_window_s)[1]


def check(emb: Embedded, settings: Settings, kind: str) -> tuple[Liveness | None, float]:
    """The input's liveness (None when the policy for ``kind`` is ``off``) and the milliseconds it took."""
    policy = liveness_policy(settings, kind)
    if policy == "off":
        return None, 0.0
    start = time.perf_counter()
    detector = get_detector(settings)
    live = detector.assess(emb.samples, speaker_taps(detector, emb, settings), settings.liveness_live_share, policy,
                           settings.liveness_refuse_margin)
    return live, round((time.perf_counter() - start) * 1000, 1)


def refuse_attack(live: Liveness | None, emb: Embedded, kind: str, strict_only: bool = False) -> None:
    """Under ``reject``, an attack decision ends the request: a ``rejected`` result saying why, with the figures.

    ``strict_only``: only at the strict point (``live.strict``), where something else asks the
    question below it: a step-up challenge for a verification, an operator review for an enrolment.
    """
    if live is None or live.decision != "attack" or live.policy != "reject" or (strict_only and not live.strict):
        return
    what = {"enroll": "enrolled", "verify": "accepted", "identify": "searched",
            "watchlist": "added to the watchlist (a case made from a cloned voice would flag the person it imitates)"}[kind]
    raise PermanentError(
        f"the recording sounds like a presentation attack (a synthetic, cloned or replayed voice): liveness score "
        f"{live.score:.2f} >= threshold {live.threshold:.2f}"
        f"{', beyond the strict point no live speech of the kit reached' if live.strict else ''}; it was not {what}",
        code="liveness.attack",
        hint="Record the person speaking live into the microphone; if this was a live caller, have an operator "
             "review it (the audit log has the decision).",
        details={"liveness": live.to_json(), "audio": emb.audio})

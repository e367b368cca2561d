"""Build the cold-start cohort that ships in shared/cohorts/ for the configured model.

A gallery of fewer than MIN_GALLERY_SPEAKERS speakers has too few impostor pairs to
calibrate from; shared.scoring.stats then adds this cohort. It holds one embedding per
speaker (never audio) of two team-kit corpora with different channels:

- librispeech-single: 60 readers, 16 kHz read speech (CC BY 4.0), their one clip;
- hyke-telephone: 30 speakers over an 8 kHz phone line, their line-1 clip (research data).

    .venv/bin/python -m bench.make_cohort                          # ECAPA (VOICEID_MODEL's default)
    VOICEID_MODEL=resemblyzer .venv/bin/python -m bench.make_cohort

Writes shared/cohorts/<model name>__<version>.npz with the keys, the embeddings and this
provenance. Re-run it after changing the model or the front end.
"""

from __future__ import annotations

import json

import numpy as np

from bench.common import KIT
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation.embedcache import cache_for
from shared.scoring.stats import COHORT_DIR

SOURCES = {"librispeech-single": "*.flac", "hyke-telephone": "*_1.flac"}


def main() -> None:
    settings = Settings.from_env()
    info = get_embedder(settings).info
    cache = cache_for(settings)
    keys, rows = [], []
    for corpus, pattern in SOURCES.items():
        for speaker in sorted(p for p in (KIT / corpus).iterdir() if p.is_dir()):
            clip = sorted(speaker.glob(pattern))[0]
            keys.append(f"{corpus}/{speaker.name}")
            rows.append(cache.get(clip).vector)
    provenance = (f"One {info.id} embedding per speaker of the team kit (../shared/data): "
                  + "; ".join(f"{c} ({p})" for c, p in SOURCES.items())
                  + ". Made by bench/make_cohort.py with the product's front end. Embeddings only, no audio.")
    COHORT_DIR.mkdir(exist_ok=True)
    out = COHORT_DIR / f"{info.name}__{info.version}.npz"
    np.savez(out, keys=np.array(json.dumps(keys)), models=np.stack(rows).astype(np.float32),
             provenance=np.array(provenance))
    print(f"wrote {out} ({len(keys)} speakers)")


if __name__ == "__main__":
    main()

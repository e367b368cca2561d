"""Does the embedding do better on the whole clip or on the detected speech only?

For every verification trial list of the team kit, embeds each file twice with the
product's front end (ffmpeg -> 16 kHz -> silero VAD -> ECAPA): once the whole clip,
once only the speech segments, and prints the EER of both. Also splits the
librispeech trials by test-clip duration to see short clips separately.

    .venv/bin/python -m bench.vad_eer            # about 10 minutes on 2 cores
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from bench.common import KIT, load_clip, machine, read_trials
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation.metrics import eer

LISTS = ("librispeech-multi", "librispeech-single", "hyke-telephone", "fsdd-digits")


def main() -> None:
    model = get_embedder(Settings.from_env())
    print(f"machine: {machine()}; model {model.info.id}")
    print(f"{'trials':20s} {'targets':>7s} {'non-t':>6s} {'EER whole %':>12s} {'EER speech %':>13s}")
    for name in LISTS:
        trials = read_trials(name)
        files = sorted({p for _, e, t in trials for p in (e, t)})
        whole, speech, duration = {}, {}, {}
        for path in tqdm(files, desc=name, file=sys.stderr, leave=False):
            clip = load_clip(KIT / path)
            duration[path] = len(clip.samples) / 16000
            whole[path] = model.embed(clip.samples)
            only = clip.speech.only_speech(clip.samples)
            speech[path] = model.embed(only) if len(only) >= 1600 else whole[path]
        labels = np.array([t for t, _, _ in trials])
        for label, subset in (("", lambda e, t: True), (" (test < 3 s)", lambda e, t: duration[t] < 3)):
            keep = np.array([subset(e, t) for _, e, t in trials])
            if keep.sum() == 0 or labels[keep].all() or not labels[keep].any():
                continue
            rows = [(e, t) for (_, e, t), k in zip(trials, keep) if k]
            s_whole = np.array([whole[e] @ whole[t] for e, t in rows])
            s_speech = np.array([speech[e] @ speech[t] for e, t in rows])
            print(f"{name + label:20s} {labels[keep].sum():7d} {(~labels[keep]).sum():6d} "
                  f"{eer(s_whole, labels[keep]):12.2f} {eer(s_speech, labels[keep]):13.2f}", flush=True)


if __name__ == "__main__":
    main()

"""How much net speech do enrolment and identification need?

On the librispeech-multi and hyke-telephone trials, cuts the *test* clip (then,
separately, the *enrolment* clip) at the point where N seconds of detected speech
have passed, and prints the EER for each N. The gates VOICEID_MIN_SPEECH_IDENTIFY_S
and VOICEID_MIN_SPEECH_ENROLL_S are chosen from this table (docs/audio.md).

    .venv/bin/python -m bench.speech_gates       # about 5 minutes on 2 cores
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from bench.common import KIT, Clip, load_clip, machine, read_trials
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation.metrics import eer

NET_SPEECH = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0, None)  # None = the whole clip


def cut_at_speech(clip: Clip, seconds: float | None) -> np.ndarray:
    """The clip from its start up to the moment ``seconds`` of speech have been heard."""
    if seconds is None:
        return clip.samples
    need = int(seconds * 16000)
    for start, end in clip.speech.segments:
        if end - start >= need:
            return clip.samples[: start + need]
        need -= end - start
    return clip.samples


def main() -> None:
    model = get_embedder(Settings.from_env())
    print(f"machine: {machine()}; model {model.info.id}")
    for name in ("librispeech-multi", "hyke-telephone"):
        trials = read_trials(name)
        labels = np.array([t for t, _, _ in trials])
        clips = {p: load_clip(KIT / p) for p in tqdm(sorted({p for _, e, t in trials for p in (e, t)}),
                                                    desc=name, file=sys.stderr, leave=False)}
        full = {p: model.embed(c.samples) for p, c in clips.items()}
        print(f"\n{name}: EER % when one side is cut to N s of net speech (the other side whole)")
        print(f"{'N s':>6s} {'test cut':>9s} {'enrol cut':>10s}")
        for n in NET_SPEECH:
            cut = {p: model.embed(cut_at_speech(c, n)) for p, c in clips.items()}
            test_cut = np.array([full[e] @ cut[t] for _, e, t in trials])
            enrol_cut = np.array([cut[e] @ full[t] for _, e, t in trials])
            label = "whole" if n is None else f"{n:.1f}"
            print(f"{label:>6s} {eer(test_cut, labels):9.2f} {eer(enrol_cut, labels):10.2f}", flush=True)


if __name__ == "__main__":
    main()

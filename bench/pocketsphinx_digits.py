"""The challenge's former digit check (pocketsphinx, a digit grammar), kept as the baseline it is measured against.

Until issue 29 the product asked pocketsphinx's English model two things: the best string under a
digits-only grammar, and whether the expected string scored within a per-frame margin of its best
same-length rival (utterance verification). It accepted 80 % of honest answers and 8 % of random
strings on 8 kHz FSDD speech. ``bench/challenge_digits.py`` runs it beside the Whisper check, in the
same process, so the two are compared on the same strings and the same CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.audio.digits import SAMPLE_RATE, SPOKEN, WORDS, Heard, check_digits

MATCH_FROM = 0.0004  # the per-frame margin it shipped with
_FAILED = -1e30


def loop_grammar(length: int | None = None) -> str:
    """Any digit string (``length`` None), or any of exactly ``length`` digits: the expected string's rivals."""
    body = "<digit>+" if length is None else " ".join(["<digit>"] * length)
    return (f"#JSGF V1.0;\ngrammar digits;\npublic <digits> = {body};\n<digit> = "
            + " | ".join((*WORDS, "oh")) + ";\n")


def expected_grammar(digits: str) -> str:
    """A grammar that allows only ``digits``, each spoken as its word (0 also as "oh")."""
    words = " ".join("(zero | oh)" if c == "0" else WORDS[int(c)] for c in check_digits(digits))
    return f"#JSGF V1.0;\ngrammar expected;\npublic <expected> = {words};\n"


def to_pcm(samples: np.ndarray) -> bytes:
    """16-bit PCM with a little fixed dither (exact zeros derail pocketsphinx's feature normalisation)."""
    x = np.asarray(samples, np.float32)
    dither = np.random.default_rng(0).standard_normal(len(x)).astype(np.float32) * 3e-4
    return (np.clip(x + dither, -1, 1) * 32767).astype(np.int16).tobytes()


class PocketsphinxDigits:
    """One pocketsphinx decoder with the digit loop (not thread-safe: a benchmark's)."""

    def __init__(self):
        import pocketsphinx

        models = Path(pocketsphinx.__file__).parent / "model" / "en-us"
        config = pocketsphinx.Config(hmm=str(models / "en-us"), dict=str(models / "cmudict-en-us.dict"),
                                     samprate=SAMPLE_RATE, loglevel="FATAL")
        self._decoder = pocketsphinx.Decoder(config)
        self._decoder.add_jsgf_string("loop", loop_grammar())

    def _decode(self, search: str, pcm: bytes) -> tuple[str, float, int]:
        d = self._decoder
        d.activate_search(search)
        d.reinit_feat()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or hyp.score <= 0:
            return "", _FAILED, max(d.n_frames(), 1)
        return hyp.hypstr, float(np.log(hyp.score)), max(d.n_frames(), 1)

    def check(self, samples: np.ndarray, expected: str) -> Heard:
        pcm = to_pcm(samples)
        text, _, frames = self._decode("loop", pcm)
        self._decoder.add_jsgf_string("rivals", loop_grammar(len(expected)))
        _, loop_score, _ = self._decode("rivals", pcm)
        self._decoder.add_jsgf_string("expected", expected_grammar(expected))
        _, expected_score, _ = self._decode("expected", pcm)
        self._decoder.activate_search("loop")
        self._decoder.remove_search("expected")
        self._decoder.remove_search("rivals")
        heard = "".join(SPOKEN.get(w.split("(")[0], "") for w in text.split())
        margin = _FAILED if expected_score <= _FAILED else (expected_score - loop_score) / frames
        return Heard(expected=expected, heard=heard, margin=margin)

    @staticmethod
    def matches(heard: Heard) -> bool:
        return heard.margin is not None and heard.margin >= MATCH_FROM

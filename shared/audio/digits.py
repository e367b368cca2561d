"""Did the caller say these digits? Offline speech recognition restricted to spoken digits (pocketsphinx).

The challenge of a text-prompted verification is a random digit string; a replayed recording or a
clone made in advance does not contain it. Two questions are asked of the same audio, with
pocketsphinx's English acoustic model (it ships in the wheel):

- **heard**: the best digit string under a grammar of digits only (``zero``/``oh`` ... ``nine``), for
  the result and for people; a recogniser with no language model beyond "digits" gets single digits
  wrong often, so this alone would reject many honest callers.
- **match**: utterance verification. The audio's score under a grammar that allows only the
  expected string, against its score under a grammar of any string of the same length (its
  rivals): a caller who said the expected digits loses nothing by being held to them; one who
  said other digits (or anything else) loses more. The per-frame score difference (it includes the
  rivals' grammar penalty, a constant per length) is compared with :data:`MATCH_FROM`, chosen on
  real spoken digit strings (``bench/challenge_digits.py``: 80 % of genuine answers match, 8 % of
  random other strings do, on 8 kHz FSDD speech; docs/security.md). A weak factor on its own: it
  stops a replayed recording or a clone made in advance, not a real-time voice converter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPOKEN = {**{w: str(i) for i, w in enumerate(WORDS)}, "oh": "0"}
MATCH_FROM = 0.0004  # per-frame margin from which the expected string counts as spoken (bench/challenge_digits.py)
_FAILED = -1e30


@dataclass(frozen=True)
class Heard:
    """What the recogniser made of a recording, against the digits it should hold."""

    expected: str
    heard: str
    margin: float  # per-frame score of the expected string minus that of its best same-length rival

    @property
    def match(self) -> bool:
        return self.margin >= MATCH_FROM

    def to_json(self) -> dict:
        return {"expected": self.expected, "heard": self.heard, "match": self.match,
                "margin": round(self.margin, 5) if self.margin > _FAILED else None}


def loop_grammar(length: int | None = None) -> str:
    """Any digit string (``length`` None), or any of exactly ``length`` digits: the expected string's rivals."""
    body = "<digit>+" if length is None else " ".join(["<digit>"] * length)
    return (f"#JSGF V1.0;\ngrammar digits;\npublic <digits> = {body};\n<digit> = "
            + " | ".join((*WORDS, "oh")) + ";\n")


def expected_grammar(digits: str) -> str:
    """A grammar that allows only ``digits``, each spoken as its word (0 also as "oh")."""
    if not digits or not digits.isdigit():
        raise ValueError(f"a challenge is a string of digits, not {digits!r}")
    words = " ".join("(zero | oh)" if c == "0" else WORDS[int(c)] for c in digits)
    return f"#JSGF V1.0;\ngrammar expected;\npublic <expected> = {words};\n"


def model_dir() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.__file__).parent / "model" / "en-us"


def to_pcm(samples: np.ndarray) -> bytes:
    """16-bit PCM with a little fixed dither: stretches of digital silence (exact zeros) derail the recogniser's
    feature normalisation and it then hears nothing at all."""
    x = np.asarray(samples, np.float32)
    dither = np.random.default_rng(0).standard_normal(len(x)).astype(np.float32) * 3e-4
    return (np.clip(x + dither, -1, 1) * 32767).astype(np.int16).tobytes()


class DigitRecogniser:
    """One pocketsphinx decoder with the digit loop; thread-safe (a lock: decoding one clip takes tens of ms)."""

    def __init__(self):
        import pocketsphinx

        models = model_dir()
        config = pocketsphinx.Config(hmm=str(models / "en-us"), dict=str(models / "cmudict-en-us.dict"),
                                     samprate=SAMPLE_RATE, loglevel="FATAL")
        self._decoder = pocketsphinx.Decoder(config)
        self._decoder.add_jsgf_string("loop", loop_grammar())
        self._lock = threading.Lock()

    def _decode(self, search: str, pcm: bytes) -> tuple[str, float, int]:
        d = self._decoder
        d.activate_search(search)
        d.reinit_feat()  # noise removal and mean normalisation adapt across utterances: every decode starts afresh
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or hyp.score <= 0:
            return "", _FAILED, max(d.n_frames(), 1)
        return hyp.hypstr, float(np.log(hyp.score)), max(d.n_frames(), 1)  # the binding gives exp(path score)

    def check(self, samples: np.ndarray, expected: str) -> Heard:
        """Whether ``samples`` (16 kHz mono float) hold the spoken digit string ``expected``."""
        grammar = expected_grammar(expected)
        pcm = to_pcm(samples)
        with self._lock:
            text, _, frames = self._decode("loop", pcm)
            self._decoder.add_jsgf_string("rivals", loop_grammar(len(expected)))
            _, loop_score, _ = self._decode("rivals", pcm)
            self._decoder.add_jsgf_string("expected", grammar)
            _, expected_score, _ = self._decode("expected", pcm)
            self._decoder.activate_search("loop")
            self._decoder.remove_search("expected")
            self._decoder.remove_search("rivals")
        heard = "".join(SPOKEN.get(w.split("(")[0], "") for w in text.split())
        margin = _FAILED if expected_score <= _FAILED else (expected_score - loop_score) / frames
        return Heard(expected=expected, heard=heard, margin=margin)

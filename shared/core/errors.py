"""The two kinds of failure the pipeline knows.

A :class:`PermanentError` can never succeed on retry (bad audio, a bad blob name):
the function writes a ``rejected`` result at once and returns normally, so the
trigger is completed (a :class:`DeploymentError`, the configuration's fault, writes an
``error`` result the same way). A :class:`TransientError` (storage throttled, a timeout)
is raised out of the function so that the host retries it; after the last retry
an ``error`` result is written for an operator.
"""

from __future__ import annotations


class VoiceIdError(Exception):
    """Base class: every error carries a stable ``code``, a message and a ``hint``."""

    code = "internal"
    hint = "Retry later; if it persists, an operator should read the host log."

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details  # e.g. the measured audio report, shown beside the error
        if code:
            self.code = code
        if hint:
            self.hint = hint

    def as_dict(self) -> dict[str, str]:
        """The ``error`` object of a result document."""
        return {"code": self.code, "message": self.message, "hint": self.hint}


class PermanentError(VoiceIdError):
    """The input cannot be used; the sender must fix it. Never retried."""

    code = "rejected"
    hint = "Fix the input and upload it again."
    status = "rejected"  # the result's status


class DeploymentError(PermanentError):
    """The deployment cannot serve any input as configured (its speaker model has no gallery while another model's
    does): an ``error`` result at once, for an operator; never retried, since every retry would fail the same way."""

    status = "error"


class TransientError(VoiceIdError):
    """A failure that may pass (storage, timeouts). The host retries it."""

    code = "transient"


class ConfigError(ValueError):
    """A setting or argument the product cannot run with; the message names what to fix (never a secret)."""

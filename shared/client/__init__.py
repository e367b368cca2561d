"""The Python API (``from shared.client import VoiceId``), bulk enrolment and live results: storage only."""

from shared.client.voiceid import ResultTimeout, VoiceId

__all__ = ["ResultTimeout", "VoiceId"]

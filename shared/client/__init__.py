"""The Python API: ``from shared.client import VoiceId`` (enrol, identify, verify through storage)."""

from shared.client.voiceid import ResultTimeout, VoiceId

__all__ = ["ResultTimeout", "VoiceId"]

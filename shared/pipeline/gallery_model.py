"""One speaker model's gallery at a time: a deployment whose configured model has no gallery while another model's
holds the voiceprints refuses, instead of answering "unknown" for everyone.

Changing ``VOICEID_MODEL`` (or upgrading to a release with another default) without carrying the gallery over
would otherwise lose every enrolled customer silently: identification would search an empty gallery and
every verification would be a reject. ``voiceid reembed --to MODEL`` builds the new model's gallery from the
stored enrolment audio while the old one keeps serving; switch the setting once it is done.
"""

from __future__ import annotations

from shared.core.errors import DeploymentError
from shared.gallery.store import Gallery, stored_models


def require_own_gallery(gallery: Gallery, configured: str) -> None:
    """Raise :class:`DeploymentError` (``gallery.other_model``) when ``gallery``'s model has none and another does.

    ``configured``: the ``VOICEID_MODEL`` value, for the hint. A fresh deployment (no gallery at all) passes.
    """
    if gallery.stored_shards() is not None:
        return
    others = [m for m in stored_models(gallery.storage) if m != gallery.model.id]
    if others:
        raise DeploymentError(
            f"VOICEID_MODEL={configured} ({gallery.model.id}) has no gallery, but {', '.join(others)} holds the "
            "enrolled voiceprints; nothing was enrolled or searched", code="gallery.other_model",
            hint=f"Carry the gallery over with 'voiceid reembed --to {configured}' (the old model keeps serving "
                 "meanwhile), or set VOICEID_MODEL back to the stored gallery's model; then upload this input again.",
            details={"stored_models": others})

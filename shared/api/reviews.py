"""``/api/reviews``: enrolments the liveness detector held for an operator (:mod:`shared.pipeline.review`)."""

from __future__ import annotations

from shared.api.http import ApiError, ApiRequest, ApiResponse
from shared.api.uploads import result_url
from shared.core import contract
from shared.core.errors import PermanentError
from shared.pipeline import review
from shared.storage.base import Storage

ACTOR = "http-api"


def list_reviews(storage: Storage) -> ApiResponse:
    rows = [r.public() for r in review.pending(storage)]
    return ApiResponse(200, {"reviews": rows, "total": len(rows)}, {"Cache-Control": "no-store"})


def post_review(req: ApiRequest, rest: str, storage: Storage) -> ApiResponse:
    """``POST /api/reviews/{id}/approve`` (202: the enrolment runs; the result's URL) or ``.../reject`` (200)."""
    rid, _, answer = rest.partition("/")
    if answer not in ("approve", "reject"):
        raise ApiError(404, "api.not_found", f"no route /reviews/{rest}",
                       "POST /api/reviews/<id>/approve or /api/reviews/<id>/reject.")
    actor = f"{ACTOR}:{req.headers['x-voiceid-actor']}" if req.headers.get("x-voiceid-actor") else ACTOR
    try:
        if answer == "reject":
            return ApiResponse(200, review.reject(storage, rid, actor))
        done = review.approve(storage, rid, actor)
    except PermanentError as err:  # no such open review: 404; the file changed since it was held: 409
        status = {"review.not_found": 404, "review.stale": 409}.get(err.code, 400)
        raise ApiError(status, err.code, err.message, err.hint) from err
    url = result_url(req.base_url, contract.ENROLL, done["blob"], done["etag"])
    return ApiResponse(202, {**done, "result": url}, {"Location": url})

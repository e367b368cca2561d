"""The HTTP API: the same containers as every other uploader, behind REST routes.

``POST /api/enroll/{name}`` and ``POST /api/identify[?claim=]`` store the body as a blob
in ``enroll/`` or ``identify/`` and answer 202 with the URL of the result document; the
blob triggers do the work exactly as for a Storage Explorer upload. Reads come from the
gallery and ``results/``; ``DELETE /api/speakers/{name}`` is :func:`shared.privacy.erasure.erase`.
``/api/watchlist[/{case}]`` lists, adds to and removes fraud cases (:mod:`shared.api.watchlist`);
``/api/reviews[/{id}/approve|reject]`` answers enrolments held by the liveness detector (:mod:`shared.api.reviews`).

Routing is plain Python over :class:`ApiRequest` records, so it is tested without a server;
:mod:`shared.entrypoints` turns Azure's ``HttpRequest`` into one and the answer back.
Keys are checked before this code runs (by Azure, or by the local host), as for any function.
"""

from __future__ import annotations

import logging

from shared.api.challenges import post_challenge
from shared.api.http import API_VERSION, ApiError, ApiRequest, ApiResponse
from shared.api.reviews import list_reviews, post_review
from shared.api.speakers import delete_speaker, get_speaker, list_speakers
from shared.api.uploads import get_result, post_enroll, post_identify
from shared.api.watchlist import delete_case, list_cases, post_case
from shared.core import contract
from shared.core.errors import PermanentError, TransientError, VoiceIdError
from shared.core.settings import Settings
from shared.storage.base import Storage

log = logging.getLogger(__name__)


def handle(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    """Answer one request; every failure becomes a JSON error (a 5xx only when storage fails)."""
    try:
        return _dispatch(req, storage, settings)
    except ApiError as err:
        return err.response
    except PermanentError as err:
        return ApiResponse(400, {"error": err.as_dict()})
    except TransientError as err:
        log.warning("api %s %s: storage failed: %s", req.method, req.route.split("/", 1)[0], err.message)
        return ApiResponse(503, {"error": err.as_dict()}, {"Retry-After": "5"})
    except VoiceIdError as err:
        log.error("api %s %s: %s: %s", req.method, req.route.split("/", 1)[0], err.code, err.message)
        return ApiResponse(500, {"error": err.as_dict()})


def _dispatch(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    parts = req.route.strip("/").split("/", 1)
    head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    routes = {
        ("speakers", False): {"GET": lambda: list_speakers(req, storage, settings)},
        ("speakers", True): {"GET": lambda: get_speaker(rest, storage, settings),
                             "DELETE": lambda: delete_speaker(rest, storage, settings)},
        ("enroll", True): {"POST": lambda: post_enroll(req, rest, storage, settings)},
        ("challenge", True): {"POST": lambda: post_challenge(req, rest, storage, settings)},
        ("identify", False): {"POST": lambda: post_identify(req, storage, settings)},
        ("watchlist", False): {"GET": lambda: list_cases(storage, settings)},
        ("watchlist", True): {"POST": lambda: post_case(req, rest, storage, settings),
                              "DELETE": lambda: delete_case(rest, storage, settings)},
        ("reviews", False): {"GET": lambda: list_reviews(storage)},
        ("reviews", True): {"POST": lambda: post_review(req, rest, storage)},
        ("results", True): {"GET": lambda: get_result(rest, storage, req.params.get("etag"))},
        ("openapi.json", False): {"GET": openapi_document},
        ("health", False): {"GET": lambda: health(storage, settings)},  # served keyless by http_health
    }
    methods = routes.get((head, bool(rest)))
    if methods is None:
        raise ApiError(404, "api.not_found", f"no route /{req.route}",
                       "See GET /api/openapi.json for the routes.")
    if req.method not in methods:
        raise ApiError(405, "api.method", f"{req.method} is not allowed on /{head}",
                       f"Use {' or '.join(methods)}.", {"Allow": ", ".join(methods)})
    return methods[req.method]()


def openapi_document() -> ApiResponse:
    from shared.api.openapi import document

    return ApiResponse(200, document())


def health(storage: Storage, settings: Settings) -> ApiResponse:
    """Anonymous liveness: can this app reach its storage? (No names, counts or settings values.)"""
    try:
        storage.etag(contract.RESULTS, ".health")
    except TransientError as err:
        return ApiResponse(503, {"status": "unavailable", "storage": err.code}, {"Retry-After": "5"})
    return ApiResponse(200, {"status": "ok", "storage": "ok", "model": settings.model, "api_version": API_VERSION})

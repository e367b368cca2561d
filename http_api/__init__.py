"""HTTP trigger (function key): the REST API under /api (speakers, enroll, identify, results)."""

import azure.functions as func

from shared.entrypoints import run_http_api


def main(req: func.HttpRequest) -> func.HttpResponse:
    return run_http_api(req)

"""HTTP trigger (anonymous): GET /api/health for load balancers and probes."""

import azure.functions as func

from shared.entrypoints import run_health


def main(req: func.HttpRequest) -> func.HttpResponse:
    return run_health(req)

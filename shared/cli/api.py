"""``voiceid api``: the HTTP API's local key and its OpenAPI document."""

from __future__ import annotations

import argparse
import json

API_HELP = """The local host serves the HTTP API on http://127.0.0.1:7071/api (VOICEID_HOST_HTTP_PORT).
Every route but /api/health needs a function key, as on Azure: the x-functions-key header or ?code=.

examples:
  KEY=$(voiceid api key)
  curl -s -H "x-functions-key: $KEY" http://127.0.0.1:7071/api/speakers
  curl -s -H "x-functions-key: $KEY" --data-binary @ann.flac "http://127.0.0.1:7071/api/enroll/Ann%20Lee"
  curl -s -H "x-functions-key: $KEY" --data-binary @call.wav "http://127.0.0.1:7071/api/identify"
      # -> 202 {"result": "http://127.0.0.1:7071/api/results/identify/....json?etag=..."}: GET it until 200
  voiceid api openapi > openapi.json

On Azure the keys live in the app (portal: Functions > http_api > Function Keys, or
az functionapp function keys list); this command reads the local host's.
"""


def cmd_api(args: argparse.Namespace) -> int:
    if args.action == "openapi":
        from shared.api.openapi import document

        print(json.dumps(document(), indent=2))
        return 0
    from shared.cli.connect import connected_storage
    from shared.localhost.functionkeys import FunctionKeys

    keys = FunctionKeys(connected_storage(), args.host_id)
    print(keys.host_keys()["master"] if args.master else keys.function_keys(args.function)["default"])
    return 0


def add_api_parser(add) -> None:
    from shared.localhost.functionkeys import LOCAL_HOST_ID

    p = add("api", cmd_api, "print the local HTTP API key (made on first use) or the OpenAPI document", API_HELP)
    p.add_argument("action", choices=("key", "openapi"), help="key: the function key; openapi: the API document")
    p.add_argument("--function", default="http_api", help="whose key (default http_api)")
    p.add_argument("--master", action="store_true", help="the host's master key instead (opens every function)")
    p.add_argument("--host-id", default=LOCAL_HOST_ID, help=f"the host id the keys are filed under "
                                                            f"(default {LOCAL_HOST_ID}, the local host's)")

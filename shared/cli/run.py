"""``voiceid up``, ``host``, ``demo`` and ``init``: run the product locally (Azurite and the local Functions host)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shared.cli.console import setup_logging
from shared.core import contract
from shared.core.paths import project_root


def cmd_up(args: argparse.Namespace) -> int:
    from shared.localhost.azurite import Azurite
    from shared.localhost.host import run_host

    setup_logging(True)
    root = project_root()
    azurite = Azurite(root / ".azurite").start()
    try:
        clean = run_host(root)
    finally:
        azurite.stop()
    if not clean:
        _exit_now(0)
    return 0


def cmd_host(args: argparse.Namespace) -> int:
    from shared.localhost.host import run_host

    setup_logging(True)
    if not run_host(Path(args.app_root).resolve() if args.app_root else project_root()):
        _exit_now(0)  # functions cut off by the drain bound still hold threads; their work was handed back
    return 0


def _exit_now(code: int) -> None:
    """Exit without waiting for worker threads (Python joins them at exit)."""
    import os

    logging.shutdown()
    sys.stdout.flush()
    os._exit(code)


def cmd_demo(args: argparse.Namespace) -> int:
    from shared.cli.demo import run_demo

    return run_demo(Path(args.audio) if args.audio else None, Path(args.unknown) if args.unknown else None)


def cmd_init(args: argparse.Namespace) -> int:
    from shared.core.settings import Settings
    from shared.storage.azure import get_storage

    get_storage(Settings.from_env().storage_connection).ensure()
    print("containers: " + ", ".join(contract.CONTAINERS) + "; queues: " + ", ".join(contract.QUEUES))
    return 0


def add_run_parsers(add) -> None:
    """The commands that start things, added with the CLI's own ``add(name, func, help, epilog)``."""
    add("up", cmd_up, "start Azurite (data in .azurite/) and the local Functions host; Ctrl-C stops both")
    p = add("host", cmd_host, "run only the local Functions host, against AzureWebJobsStorage")
    p.add_argument("--app-root", help="folder with host.json (default: the project folder you are in, "
                                         "or VOICEID_PROJECT_ROOT)")
    p = add("demo", cmd_demo, "start everything, enrol and identify real speech, print the results, stop")
    p.add_argument("--audio", help="folder of speaker folders (default: ../shared/data/librispeech-multi)")
    p.add_argument("--unknown", help="folder of speaker folders never enrolled "
                                     "(default: ../shared/data/librispeech-single when present)")
    add("init", cmd_init, "create the containers and queues of the storage contract (idempotent)")

"""How the CLI talks to a terminal: log lines on stderr, quiet SDKs."""

from __future__ import annotations

import logging


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "speechbrain", "urllib3"):  # per-request HTTP logs drown the host's own lines
        logging.getLogger(noisy).setLevel(logging.WARNING)

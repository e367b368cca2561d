"""How the CLI talks to a terminal: log lines on stderr, quiet SDKs."""

from __future__ import annotations

import logging


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "speechbrain", "urllib3"):  # per-request HTTP logs drown the host's own lines
        logging.getLogger(noisy).setLevel(logging.WARNING)


def print_listing(rows: list[dict], as_json: bool, empty: str, headers: tuple[str, ...], cells) -> None:
    """A list command's output: the rows as JSON, a line saying there are none, or a table of ``cells(row)``."""
    import json

    from shared.results.table import format_table

    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print(empty)
    else:
        print(format_table(headers, [cells(r) for r in rows]))


def command_group(add, name: str, help_text: str, epilog: str):
    """``voiceid NAME COMMAND``: the group's parser (its help when no command is given) and its subparsers."""
    parser = add(name, lambda a: parser.print_help() or 2, help_text, epilog)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")

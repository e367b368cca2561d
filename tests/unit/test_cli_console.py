"""The CLI's shared output and parser helpers (shared/cli/console.py)."""

from __future__ import annotations

import argparse
import json

from shared.cli.console import command_group, print_listing


def test_a_listing_is_json_a_none_line_or_a_table(capsys):
    rows = [{"id": "a1", "speaker": "Ann"}, {"id": "b2", "speaker": "Bob"}]
    print_listing(rows, True, "none", ("id", "speaker"), lambda r: (r["id"], r["speaker"]))
    assert json.loads(capsys.readouterr().out) == rows
    print_listing([], False, "nothing is waiting", ("id",), lambda r: (r["id"],))
    assert capsys.readouterr().out.strip() == "nothing is waiting"
    print_listing(rows, False, "none", ("id", "speaker"), lambda r: (r["id"], r["speaker"]))
    table = capsys.readouterr().out
    assert "speaker" in table and "Ann" in table and "b2" in table


def test_a_command_group_without_a_command_prints_its_help(capsys):
    parser = argparse.ArgumentParser(prog="voiceid")
    top = parser.add_subparsers(dest="command")

    def add(name, func, help_text, epilog=""):
        p = top.add_parser(name, help=help_text, description=help_text, epilog=epilog)  # as shared/cli/main.py
        p.set_defaults(func=func)
        return p

    sub = command_group(add, "review", "held enrolments", "examples: ...")
    sub.add_parser("list").set_defaults(func=lambda a: 0)
    args = parser.parse_args(["review"])
    assert args.func(args) == 2 and "held enrolments" in capsys.readouterr().out
    listed = parser.parse_args(["review", "list"])
    assert listed.review_command == "list" and listed.func(listed) == 0

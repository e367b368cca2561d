"""``voiceid watchlist add|list|remove``: the fraud team's watchlist of confirmed fraud cases."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.cli.connect import make_client
from shared.cli.console import command_group, print_listing

WATCHLIST_HELP = """The watchlist holds voices of confirmed fraud cases. Every enrolment, identification and
verification is screened against it; a match is listed in the result's `watchlist` field
(case and calibrated score) and in the audit log. What a match does is a setting:
  VOICEID_WATCHLIST_ENROLL=reject|flag   reject (default): the enrolment is refused (enroll.watchlist)
  VOICEID_WATCHLIST_VERIFY=reject|flag   reject (default): the verification is refused (verify.watchlist)
  VOICEID_WATCHLIST_TARGET_FAR=0.001     share of innocent callers flagged, whatever the watchlist's size
Identification always reports and never changes its answer. A case id is any name, e.g. a
case-management reference (FR-2026-0042); never put a customer's name in it.

examples:
  voiceid watchlist add FR-2026-0042 call-0612.wav call-0613.wav
  voiceid watchlist list
  voiceid watchlist remove FR-2026-0042 --yes

Files can also be uploaded as watchlist/<case id>/<file> (Storage Explorer, azcopy, az CLI);
results land in results/watchlist/. Every add and remove is audited with the operator
(VOICEID_ACTOR, else the OS user): voiceid audit shows it."""


def cmd_add(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"voiceid: not a file: {', '.join(missing)}")
    client = make_client()
    failed = 0
    for path in tqdm(files, desc=f"watchlist {args.case}", unit="file", disable=len(files) < 2, file=sys.stderr):
        doc = client.watchlist_add(args.case, path, args.timeout, wait=not args.no_wait)
        if args.no_wait:
            print(f"uploaded watchlist/{doc['blob']}")
        elif doc["status"] == "ok":
            print(f"{path.name}: added to case {doc['case']} ({doc['model_id']})")
        else:
            failed += 1
            print(f"{path.name}: {doc['status']} {doc['error']['code']}: {doc['error']['message']} -> "
                  f"{doc['error']['hint']}", file=sys.stderr)
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    print_listing(make_client().watchlist(), args.json, "the watchlist is empty",
                  ("case", "voiceprints", "model", "added"),
                  lambda r: (r["case"], r["voiceprints"], r["model_id"], r["added_at"]))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    if not args.yes:
        raise SystemExit(f"voiceid: this deletes every voiceprint, upload and result of case {args.case!r}; "
                         "run again with --yes")
    report = make_client().watchlist_remove(args.case)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif report["found"]:
        print(f"{args.case}: removed {report['voiceprints']} voiceprints, {report['uploads']} uploads, "
              f"{report['results']} results")
    else:
        print(f"{args.case}: not on the watchlist (nothing to remove)")
    return 0


def add_watchlist_parser(add) -> None:
    """``voiceid watchlist`` and its commands, added with the CLI's own ``add``."""
    sub = command_group(add, "watchlist", "the fraud watchlist: add, list and remove fraud cases", WATCHLIST_HELP)
    fmt = argparse.RawDescriptionHelpFormatter
    a = sub.add_parser("add", help="add recordings of a confirmed fraud case and wait for the results",
                       description="Add recordings of CASE's voice (uploaded as watchlist/CASE/<file name>).",
                       formatter_class=fmt)
    a.add_argument("case", help="the case id, e.g. FR-2026-0042")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--no-wait", action="store_true", help="return after the uploads")
    a.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per result (default 300)")
    a.set_defaults(func=cmd_add)
    ls = sub.add_parser("list", help="the cases and their voiceprint counts", formatter_class=fmt)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    rm = sub.add_parser("remove", help="remove a case: voiceprints, uploads and results (audited)",
                        formatter_class=fmt)
    rm.add_argument("case")
    rm.add_argument("--yes", action="store_true", help="really remove it")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)

"""``voiceid review list|approve|reject``: enrolments the liveness detector held for a person."""

from __future__ import annotations

import argparse
import json
import sys

from shared.cli.connect import make_client
from shared.cli.console import command_group, print_listing

REVIEW_HELP = """An enrolment the liveness detector calls an attack (a cloned, synthetic or replayed voice)
is not enrolled and not refused either: the detector also calls honest customers from channels it
never heard attacks, so a person decides. Its result says status "review" with the review's id.
Listen to the file (voiceid review fetch ID saves it; it is enroll/<speaker>/<file>) and answer:
  approve   the file is enrolled as uploaded; the result names you in reviewed_by
  reject    the uploaded audio is deleted and the result says liveness.review_rejected
Only a recording beyond the detector's strict point (VOICEID_LIVENESS_REFUSE_MARGIN) is refused
without a review. Every answer is audited with the operator (VOICEID_ACTOR, else the OS user).

examples:
  voiceid review list
  voiceid review fetch 3f9a1c0d2b4e5f6a7b8c9d0e --out held.wav
  VOICEID_ACTOR=ops-ann voiceid review approve 3f9a1c0d2b4e5f6a7b8c9d0e
  voiceid review reject 3f9a1c0d2b4e5f6a7b8c9d0e --yes

The HTTP API has the same: GET /api/reviews, POST /api/reviews/<id>/approve|reject."""


def cmd_list(args: argparse.Namespace) -> int:
    print_listing(make_client().reviews(), args.json, "no enrolment is waiting for review",
                  ("id", "speaker", "file", "liveness", "held since"),
                  lambda r: (r["id"], r["speaker"], f"enroll/{r['blob']}", f"{r['liveness']['score']:.2f}",
                             r["created_at"]))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    held = make_client().review_audio(args.id)
    if held is None:
        raise SystemExit(f"voiceid: no held recording under review {args.id!r} (voiceid review list shows the open ones)")
    blob, data = held
    out = Path(args.out or Path(blob).name)
    out.write_bytes(data)
    print(f"saved enroll/{blob} ({len(data)} bytes) to {out}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    doc = make_client().review_approve(args.id, args.timeout, wait=not args.no_wait)
    if args.json or args.no_wait:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    elif doc["status"] == "ok":
        print(f"enrolled {doc['speaker']} from enroll/{doc['blob']} (approved by {doc.get('reviewed_by')})")
    else:
        print(f"enroll/{doc['blob']}: {doc['status']} {doc['error']['code']}: {doc['error']['message']} -> "
              f"{doc['error']['hint']}", file=sys.stderr)
        return 1
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    if not args.yes:
        raise SystemExit(f"voiceid: this deletes the held recording of review {args.id}; run again with --yes")
    doc = make_client().review_reject(args.id)
    print(json.dumps(doc, indent=2, ensure_ascii=False) if args.json
          else f"enroll/{doc['blob']}: refused and deleted ({doc['error']['code']})")
    return 0


def add_review_parser(add) -> None:
    """``voiceid review`` and its commands, added with the CLI's own ``add``."""
    sub = command_group(add, "review", "enrolments held by the liveness detector: list, fetch, approve, reject", REVIEW_HELP)
    fmt = argparse.RawDescriptionHelpFormatter
    ls = sub.add_parser("list", help="the held enrolments, oldest first", formatter_class=fmt)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    get = sub.add_parser("fetch", help="save the held recording to listen to it", formatter_class=fmt)
    get.add_argument("id")
    get.add_argument("--out", help="file to write (default: the upload's file name, here)")
    get.set_defaults(func=cmd_fetch)
    ok = sub.add_parser("approve", help="enrol the held file and wait for its result (audited)", formatter_class=fmt)
    ok.add_argument("id", help="the review id (voiceid review list, or the result's review.id)")
    ok.add_argument("--no-wait", action="store_true", help="return once the approval is written")
    ok.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the result (default 300)")
    ok.add_argument("--json", action="store_true")
    ok.set_defaults(func=cmd_approve)
    no = sub.add_parser("reject", help="delete the held file; its result says liveness.review_rejected (audited)",
                        formatter_class=fmt)
    no.add_argument("id")
    no.add_argument("--yes", action="store_true", help="really delete the recording")
    no.add_argument("--json", action="store_true")
    no.set_defaults(func=cmd_reject)

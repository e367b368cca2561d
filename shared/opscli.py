"""Operator commands: ``voiceid delete`` (erasure), ``retention``, ``poison`` and ``audit``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .settings import Settings

DELETE_HELP = """Erase a speaker: every voiceprint (every model), the stored enrolment audio, its results,
the host's receipts for those blobs, match state naming them and poison messages claiming them.

A tombstone stops an enrolment already in flight from bringing the speaker back; a file uploaded
after the erasure enrols them again on purpose. Deleting twice is fine. One `delete` event goes to
the audit log (set VOICEID_ACTOR to record who asked, e.g. a ticket number).
What is kept, by design: the audit log, identify/ uploads and results/identify/ documents of past
identifications (retention: VOICEID_PROBE_AUDIO_RETENTION_S, VOICEID_RESULT_RETENTION_S).

examples:
  voiceid delete "Ann Lee" --yes
  VOICEID_ACTOR=ticket-4711 voiceid delete cust-000123 --yes --json
exit status 0 also when nothing was enrolled under the name (the command says so)."""

RETENTION_HELP = """Delete now what is past its retention (the retention_timer function does this every 10 minutes):
identify/ uploads (VOICEID_PROBE_AUDIO_RETENTION_S, once they have their result), results/identify/
(VOICEID_RESULT_RETENTION_S), kept probe embeddings (VOICEID_PROBE_EMBEDDING_RETENTION_S), match state of
requests that can no longer finish, and blob receipts whose blob is gone.

example:
  VOICEID_PROBE_AUDIO_RETENTION_S=86400 voiceid retention"""

AUDIT_HELP = """Print audit events (enrol, identify, verify, delete, lockout, ...), oldest first.

examples:
  voiceid audit --date 2026-11-24
  voiceid audit --speaker "Ann Lee" --action verify --json"""


def _storage():
    """The storage of AzureWebJobsStorage, failing fast (with what to do) when a local Azurite is not up."""
    from .cli import make_client

    return make_client().storage


def cmd_delete(args: argparse.Namespace) -> int:
    from .audit import operator
    from .erasure import describe, erase, to_json

    if not args.yes:
        if not sys.stdin.isatty():
            raise SystemExit("voiceid: deleting a speaker cannot be undone; add --yes to confirm")
        if input(f"erase every voiceprint and enrolment of {args.speaker!r}? type the name to confirm: ") \
                != args.speaker:
            print("nothing deleted", file=sys.stderr)
            return 1
    settings = Settings.from_env()
    report = erase(_storage(), settings, args.speaker, actor=operator())
    print(to_json(report) if args.json else describe(report))
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from .retention import sweep

    settings = Settings.from_env()
    report = sweep(_storage(), settings)
    print(json.dumps(asdict(report)) if args.json else
          ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in asdict(report).items()) + " deleted")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from . import audit
    from .names import speaker_key
    from .table import format_table

    prefix = args.date.replace("-", "/") + "/" if args.date else None
    events = audit.read(_storage(), prefix)
    if args.speaker:
        events = [e for e in events if e.get("speaker") and speaker_key(e["speaker"]) == speaker_key(args.speaker)]
    if args.action:
        events = [e for e in events if e["action"] == args.action]
    events = events[-args.limit:]
    if args.json:
        print(json.dumps(events, indent=1, ensure_ascii=False))
    elif events:
        print(format_table(("at", "action", "outcome", "speaker", "actor", "blob"),
                           [(e["at"], e["action"], e["outcome"], e.get("speaker") or "", e["actor"],
                             e.get("blob") or "") for e in events]))
    else:
        print("no audit events" + (f" on {args.date}" if args.date else ""))
    return 0


POISON_HELP = """List inputs whose processing failed every retry, or run them again.

list:   match jobs in match-jobs-poison, and blobs whose result is still system.retries_exhausted
replay: rewrite each input blob in place (same bytes, new ETag): the pipeline runs it again and its new
        result replaces the error; the poison message is dropped. Fix the cause first (read the host log).

examples:
  voiceid poison list
  voiceid poison replay --json
exit status 1 when an input could not be replayed (its blob is gone)."""


def cmd_poison(args: argparse.Namespace) -> int:
    from .poison import list_items, replay
    from .table import format_table

    storage = _storage()
    items = list_items(storage)
    if args.action == "list":
        if args.json:
            print(json.dumps([asdict(i) for i in items], indent=1, ensure_ascii=False))
        else:
            print(format_table(("source", "input", "code"), [(i.source, f"{i.container}/{i.blob}", i.code)
                                                            for i in items]) if items else "nothing poisoned")
        return 0
    outcome = replay(storage, items)
    print(json.dumps(outcome, indent=1, ensure_ascii=False) if args.json else
          "\n".join(f"{k}: {v}" for k, v in outcome.items()) or "nothing to replay")
    return 0 if all(v == "replayed" for v in outcome.values()) else 1


def add_ops_parsers(add) -> None:
    """The operator commands, added with the CLI's own ``add(name, func, help, epilog)``."""
    p = add("delete", cmd_delete, "erase a speaker everywhere (voiceprints, enrolment audio, results)", DELETE_HELP)
    p.add_argument("speaker", help="the speaker's name (any spelling that maps to the same speaker)")
    p.add_argument("--yes", action="store_true", help="confirm without a prompt (needed when not on a terminal)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p = add("retention", cmd_retention, "delete probe audio, embeddings and results past their retention now",
            RETENTION_HELP)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p = add("poison", cmd_poison, "list inputs that failed every retry, or run them again", POISON_HELP)
    p.add_argument("action", choices=("list", "replay"))
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("audit", cmd_audit, "show the audit log (who did what, when)", AUDIT_HELP)
    p.add_argument("--date", help="one UTC day, YYYY-MM-DD (default: every day)")
    p.add_argument("--speaker", help="only events about this speaker")
    p.add_argument("--action", choices=("enroll", "identify", "verify", "delete", "lockout", "discard"))
    p.add_argument("--limit", type=int, default=200, help="the most recent N events (default 200)")
    p.add_argument("--json", action="store_true", help="print the events as a JSON array")

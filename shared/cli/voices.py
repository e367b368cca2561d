"""``voiceid enroll``, ``identify``, ``speakers`` and ``results``: what a user of a running deployment does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.cli.connect import make_client


def cmd_enroll(args: argparse.Namespace) -> int:
    from shared.client.bulk import collect_enroll_files, enroll_files

    pairs = collect_enroll_files(Path(args.path), args.name)
    report = enroll_files(make_client(), pairs, dry_run=args.dry_run, wait=not args.no_wait,
                          timeout_s=args.timeout, progress=_bar)
    return _enroll_summary(report, args.report)


TABLE_ROWS = 50


def _bar(seq, desc: str):
    """A progress bar on stderr for runs of more than one file."""
    from tqdm import tqdm

    return tqdm(seq, desc=desc, unit="file", disable=len(seq) < 2, file=sys.stderr)


def _enroll_summary(report, report_path: str | None) -> int:
    """The table of failures, one summary line, the JSON report; exit 1 when anything failed."""
    from shared.results.table import format_table

    if report_path:
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
        if report_path == "-":
            print(text)
        else:
            Path(report_path).write_text(text + "\n")
    out = sys.stderr if report_path == "-" else sys.stdout
    shown = report.items if len(report.items) <= TABLE_ROWS else report.failed  # a big run: only what failed
    if shown:
        print(format_table(("blob", "outcome", "code", "what to do"),
                           [(i.blob, i.outcome.replace("_", " "), i.code, i.hint) for i in shown]), file=out)
    counts = report.counts()
    order = ("would_enroll", "uploaded", "enrolled", "skipped", "rejected", "error", "pending")
    line = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in order if counts.get(k))
    print(("dry run: " if report.dry_run else "") + (line or "nothing to do") +
          ("; skipped = already enrolled with the same audio" if counts.get("skipped") else "") +
          ("; results will appear under results/enroll/" if counts.get("uploaded") else ""), file=out)
    return 1 if report.failed else 0


def cmd_identify(args: argparse.Namespace) -> int:
    from shared.results.table import results_table

    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"voiceid: {path} is not a file")
    client = make_client()
    if args.challenge and not args.claim:
        raise SystemExit("voiceid: --challenge needs --claim NAME (a challenge is issued for one name)")
    doc = client.verify(path, args.claim, args.timeout, args.challenge) if args.claim else \
        client.identify(path, args.timeout)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(results_table([doc]))
        if doc["status"] != "ok":
            print(f"{doc['error']['message']} -> {doc['error']['hint']}", file=sys.stderr)
        elif doc.get("decision") == "challenge":
            print_step_up(doc)
    return 0 if doc["status"] == "ok" else 1


def print_step_up(doc: dict) -> None:
    """What the caller does next when the verification asks for a challenge."""
    step = doc["step_up"]
    say = " ".join(step["digits"]) if "digits" in step else "(no longer open: verify again)"
    print(f"a challenge is required ({', '.join(step['reasons'])}): the caller says {say}   "
          f"(until {step['expires_at']}, once)")
    print(f"then: voiceid identify RECORDING.wav --claim {json.dumps(doc['claimed'])} --challenge {step['nonce']}")


def cmd_challenge(args: argparse.Namespace) -> int:
    issued = make_client().challenge(args.name)
    if args.json:
        print(json.dumps(issued, indent=2, ensure_ascii=False))
    else:
        print(f"say: {' '.join(issued['digits'])}   (until {issued['expires_at']}, once)")
        print(f"then: voiceid identify RECORDING.wav --claim {json.dumps(issued['claim'])} "
              f"--challenge {issued['nonce']}")
        print(f"  or upload the recording as {issued['upload_as']}")
    return 0


def cmd_speakers(args: argparse.Namespace) -> int:
    from shared.results.table import format_table

    rows = make_client().speakers()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(format_table(("speaker", "voiceprints", "model"), [(r["speaker"], r["voiceprints"], r["model_id"])
                                                               for r in rows]) if rows else "no speakers enrolled")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from shared.results.table import results_table

    docs = make_client().results(args.prefix, args.limit)
    print(json.dumps(docs, indent=2, ensure_ascii=False) if args.json else results_table(docs))
    return 0


ENROLL_HELP = """PATH may be:
  a folder of speaker folders   voices/<speaker>/<file>
  one speaker folder            voices/ann/   (speaker = folder name, or --name)
  one file                      ann.flac      (uploaded as enroll/ann.flac, or enroll/<name>/ann.flac)
Safe to run again (on a schedule, or after Ctrl-C): a file whose audio is already enrolled for
that speaker (same sha256) is skipped, the rest are uploaded. At the end: a table of what was
rejected and why, and one line of counts.
examples:
  voiceid enroll /data/voices --dry-run
  voiceid enroll /data/voices --report /var/log/voiceid/enroll-$(date +%F).json
exit status 1 when any file was rejected or got no result in time (the report lists them)."""


CHALLENGE_HELP = """A challenge defeats replayed recordings and clones made in advance: the caller must speak
digits nobody knew before. It works once, for NAME only, until it expires (VOICEID_CHALLENGE_TTL_S).
The verification then accepts only when the voice, the liveness check and the digits all pass;
the result's challenge object says whether the digits matched (the digits stay out of results).
example:
  voiceid challenge "Ann Lee"          # say: 4 0 7 1 9 3 ...
  voiceid identify answer.wav --claim "Ann Lee" --challenge <nonce>"""


IDENTIFY_HELP = """exit status 0 when a result arrived with status ok (whatever the decision), 1 when it was rejected or failed."""


def add_voice_parsers(add) -> None:
    """Enrol, identify, list: added with the CLI's own ``add(name, func, help, epilog)``."""
    p = add("enroll", cmd_enroll, "enrol speakers from a file or folder and wait for the results",
            ENROLL_HELP)
    p.add_argument("path")
    p.add_argument("--name", help="speaker name for a single file or speaker folder")
    p.add_argument("--no-wait", action="store_true", help="return after the upload")
    p.add_argument("--dry-run", action="store_true", help="say what would be enrolled and skipped; upload nothing")
    p.add_argument("--report", metavar="FILE", help="write the outcome of every file as JSON (- for stdout)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per result (default 300)")
    p = add("identify", cmd_identify, "identify the speaker of FILE (or verify a --claim) and print the result",
            IDENTIFY_HELP)
    p.add_argument("file")
    p.add_argument("--claim", metavar="NAME", help="verify that FILE is NAME (1:1) instead of searching (1:N)")
    p.add_argument("--challenge", metavar="NONCE", help="with --claim: FILE answers this challenge (voiceid challenge)")
    p.add_argument("--json", action="store_true", help="print the result document itself")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the result (default 120)")
    p = add("challenge", cmd_challenge, "a one-time digit string for NAME to speak (text-prompted verification)",
            CHALLENGE_HELP)
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the challenge as JSON")
    p = add("speakers", cmd_speakers, "list enrolled speakers and their voiceprint counts")
    p.add_argument("--json", action="store_true")
    p = add("results", cmd_results, "show recent result documents")
    p.add_argument("--prefix", help="only results under this prefix, e.g. identify/ or enroll/ann/")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")

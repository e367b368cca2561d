"""``voiceid``: run the pipeline locally, enrol, identify, look at results.

Run ``voiceid --help`` or ``voiceid COMMAND --help``; every command has examples.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path

from . import contract
from .errors import ConfigError, VoiceIdError
from .apicli import add_api_parser
from .evalcli import add_eval_parser
from .opscli import add_ops_parsers
from .viewcli import add_view_parsers
from .settings import PROJECT_ROOT

EPILOG = """examples:
  voiceid up                                  # Azurite + local Functions host (Ctrl-C stops both)
  voiceid enroll ~/voices                     # a folder of speaker folders: ~/voices/<speaker>/<file>
  voiceid enroll ~/voices/ann                 # one speaker folder (speaker = folder name)
  voiceid enroll clip.wav --name "Ann Lee"    # one file for a named speaker
  voiceid identify call.wav                   # who is it? (best matches or "unknown")
  voiceid identify call.wav --claim "Ann Lee" # is it Ann Lee? (accept/reject)
  voiceid speakers                            # who is enrolled
  voiceid reshard --to 16 --dry-run           # how many voiceprints a new shard count would move
  voiceid delete "Ann Lee" --yes              # erase a speaker: voiceprints, enrolment audio, results
  voiceid audit --date 2026-11-24             # who enrolled, identified, verified, deleted (and when)
  voiceid results --prefix identify/          # recent results as a table
  voiceid watch                               # follow results live as they appear
  voiceid report --out report.html            # one HTML page: gallery, decisions, scores, DET curve
  voiceid api key                             # the local HTTP API's function key (curl examples: api --help)
  voiceid demo                                # the whole story on real speech, then stop
  voiceid eval trials T.txt --root D --out S  # accuracy on your own recordings (EER, FAR at the op point)

Storage: AzureWebJobsStorage (default UseDevelopmentStorage=true, the local Azurite).
"""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "speechbrain", "urllib3"):  # per-request HTTP logs drown the host's own lines
        logging.getLogger(noisy).setLevel(logging.WARNING)


def make_client():
    """A client for AzureWebJobsStorage; a local endpoint that is not listening fails at once, with what to do."""
    from .azurite import local_endpoint_down
    from .client import VoiceId

    client = VoiceId()
    down = local_endpoint_down(client.storage.blobs.url)
    if down:
        raise SystemExit(f"voiceid: nothing listens on {down} (Azurite). "
                         "Start it and the host with 'voiceid up' in another terminal, or set AzureWebJobsStorage.")
    return client


def cmd_up(args: argparse.Namespace) -> int:
    from .azurite import Azurite
    from .localhost.host import run_host

    _setup_logging(True)
    azurite = Azurite(PROJECT_ROOT / ".azurite").start()
    try:
        clean = run_host(PROJECT_ROOT)
    finally:
        azurite.stop()
    if not clean:
        _exit_now(0)
    return 0


def cmd_host(args: argparse.Namespace) -> int:
    from .localhost.host import run_host

    _setup_logging(True)
    if not run_host(Path(args.app_root).resolve()):
        _exit_now(0)  # functions cut off by the drain bound still hold threads; their work was handed back
    return 0


def _exit_now(code: int) -> None:
    """Exit without waiting for worker threads (Python joins them at exit)."""
    import os

    logging.shutdown()
    sys.stdout.flush()
    os._exit(code)


def upload_and_wait(client, container: str, pairs: list[tuple[str, Path]], *, wait: bool,
                    timeout_s: float) -> list[dict]:
    """Upload every file (progress bar), then wait for each result (progress bar)."""
    from tqdm import tqdm

    etags = {}
    for blob, path in tqdm(pairs, desc="upload", unit="file", disable=len(pairs) < 2):
        etags[blob] = client.upload(container, blob, path)
    if not wait:
        return []
    return [client.wait_result(container, blob, etags[blob], timeout_s)
            for blob, _ in tqdm(pairs, desc="results", unit="file", disable=len(pairs) < 2)]


def cmd_enroll(args: argparse.Namespace) -> int:
    from .bulk import collect_enroll_files, enroll_files

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
    from .table import format_table

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
    from .table import results_table

    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"voiceid: {path} is not a file")
    client = make_client()
    doc = client.verify(path, args.claim, args.timeout) if args.claim else client.identify(path, args.timeout)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(results_table([doc]))
        if doc["status"] != "ok":
            print(f"{doc['error']['message']} -> {doc['error']['hint']}", file=sys.stderr)
    return 0 if doc["status"] == "ok" else 1


def cmd_speakers(args: argparse.Namespace) -> int:
    from .table import format_table

    rows = make_client().speakers()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(format_table(("speaker", "voiceprints", "model"), [(r["speaker"], r["voiceprints"], r["model_id"])
                                                               for r in rows]) if rows else "no speakers enrolled")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from .table import results_table

    docs = make_client().results(args.prefix, args.limit)
    print(json.dumps(docs, indent=2, ensure_ascii=False) if args.json else results_table(docs))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.audio) if args.audio else None, Path(args.unknown) if args.unknown else None)


def cmd_init(args: argparse.Namespace) -> int:
    from .settings import Settings
    from .storage import get_storage

    get_storage(Settings.from_env().storage_connection).ensure()
    print("containers: " + ", ".join(contract.CONTAINERS) + "; queues: " + ", ".join(contract.QUEUES))
    return 0


def cmd_reembed(args: argparse.Namespace) -> int:
    from dataclasses import asdict, replace

    from .reembed import reembed
    from .settings import Settings
    from .storage import get_storage

    settings = Settings.from_env()
    if args.to:
        settings = replace(settings, model=args.to, model_source=args.source or "")
        settings.validate()
    report = reembed(get_storage(settings.storage_connection), settings, args.source_model,
                     delete_source=args.delete_source, dry_run=args.dry_run)
    if args.json:
        print(json.dumps({**asdict(report), "complete": report.complete}, indent=2, ensure_ascii=False))
    else:
        verb = "would re-embed" if args.dry_run else "re-embedded"
        todo = report.voiceprints - report.already
        print(f"{report.source} -> {report.target}: {report.voiceprints} voiceprints; "
              f"{verb} {todo if args.dry_run else report.reembedded}, {report.already} already there")
        for blob in report.missing:
            print(f"missing: {blob} (the enrolment audio is gone; enrol this speaker again)", file=sys.stderr)
        for blob in report.changed:
            print(f"changed: {blob} (the blob holds other audio than was enrolled; its trigger re-enrols it)",
                  file=sys.stderr)
        for f in report.failed:
            print(f"failed: {f['blob']}: {f['code']}: {f['message']}", file=sys.stderr)
        if report.source_deleted:
            print(f"deleted the {report.source} gallery")
        elif args.delete_source:
            print(f"kept the {report.source} gallery: not every voiceprint was carried over", file=sys.stderr)
    return 0 if report.complete else 1


def cmd_reshard(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .gallery import stored_models
    from .reshard import reshard
    from .settings import Settings
    from .storage import get_storage

    settings = Settings.from_env()
    storage = get_storage(settings.storage_connection)
    to = args.to or settings.shard_count
    models = [args.model] if args.model else stored_models(storage)
    if not models:
        print("voiceid: the gallery is empty; a new gallery starts with VOICEID_SHARD_COUNT shards", file=sys.stderr)
        return 0
    reports = [reshard(storage, m, to, grace_s=args.grace, dry_run=args.dry_run, keyring=settings.keyring())
               for m in models]
    if args.json:
        print(json.dumps([asdict(r) for r in reports], indent=2))
    else:
        for r in reports:
            moved = f"would move {r.misplaced}" if r.dry_run else f"moved {r.moved}"
            deleted = f"; deleted shards {r.deleted_shards}" if r.deleted_shards else ""
            print(f"{r.model_id}: {r.before} -> {r.after} shards, {r.voiceprints} voiceprints; {moved}{deleted}")
    if not args.dry_run and to != settings.shard_count:
        print(f"note: VOICEID_SHARD_COUNT is {settings.shard_count}; set it to {to} so that new galleries "
              "start with the same count", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voiceid", description="Self-hosted voice biometrics on Azure Functions.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str, epilog: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    add("up", cmd_up, "start Azurite (data in .azurite/) and the local Functions host; Ctrl-C stops both")
    p = add("host", cmd_host, "run only the local Functions host, against AzureWebJobsStorage")
    p.add_argument("--app-root", default=str(PROJECT_ROOT), help="folder with host.json (default: this project)")
    p = add("enroll", cmd_enroll, "enrol speakers from a file or folder and wait for the results",
            "PATH may be:\n  a folder of speaker folders   voices/<speaker>/<file>\n"
            "  one speaker folder            voices/ann/   (speaker = folder name, or --name)\n"
            "  one file                      ann.flac      (uploaded as enroll/ann.flac, or enroll/<name>/ann.flac)\n"
            "Safe to run again (on a schedule, or after Ctrl-C): a file whose audio is already enrolled for\n"
            "that speaker (same sha256) is skipped, the rest are uploaded. At the end: a table of what was\n"
            "rejected and why, and one line of counts.\n"
            "examples:\n  voiceid enroll /data/voices --dry-run\n"
            "  voiceid enroll /data/voices --report /var/log/voiceid/enroll-$(date +%F).json\n"
            "exit status 1 when any file was rejected or got no result in time (the report lists them).")
    p.add_argument("path")
    p.add_argument("--name", help="speaker name for a single file or speaker folder")
    p.add_argument("--no-wait", action="store_true", help="return after the upload")
    p.add_argument("--dry-run", action="store_true", help="say what would be enrolled and skipped; upload nothing")
    p.add_argument("--report", metavar="FILE", help="write the outcome of every file as JSON (- for stdout)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per result (default 300)")
    p = add("identify", cmd_identify, "identify the speaker of FILE (or verify a --claim) and print the result",
            "exit status 0 when a result arrived with status ok (whatever the decision), 1 when it was rejected "
            "or failed.")
    p.add_argument("file")
    p.add_argument("--claim", metavar="NAME", help="verify that FILE is NAME (1:1) instead of searching (1:N)")
    p.add_argument("--json", action="store_true", help="print the result document itself")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the result (default 120)")
    p = add("speakers", cmd_speakers, "list enrolled speakers and their voiceprint counts")
    p.add_argument("--json", action="store_true")
    p = add("results", cmd_results, "show recent result documents")
    p.add_argument("--prefix", help="only results under this prefix, e.g. identify/ or enroll/ann/")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = add("demo", cmd_demo, "start everything, enrol and identify real speech, print the results, stop")
    p.add_argument("--audio", help="folder of speaker folders (default: ../shared/data/librispeech-multi)")
    p.add_argument("--unknown", help="folder of speaker folders never enrolled "
                                     "(default: ../shared/data/librispeech-single when present)")
    add("init", cmd_init, "create the containers and queues of the storage contract (idempotent)")
    p = add("reembed", cmd_reembed, "carry the gallery over to another model by embedding the enrolment audio again",
            "Run it before switching VOICEID_MODEL (or the model's weights), then switch: voiceprints of two models\n"
            "are never scored together. The target is --to (else VOICEID_MODEL); the source is the one other model\n"
            "in the gallery (or --from). Resumable: voiceprints already carried over are skipped.\n"
            "examples:\n  voiceid reembed --to resemblyzer --dry-run\n"
            "  voiceid reembed --to resemblyzer --delete-source\n"
            "exit status 1 when any voiceprint could not be carried over (audio gone, changed or refused).")
    p.add_argument("--to", choices=("ecapa", "xvector", "resemblyzer", "fusion"), help="target model (default: VOICEID_MODEL)")
    p.add_argument("--source", help="weights of the target model (hub id, folder or file; default: the model's own)")
    p.add_argument("--from", dest="source_model", metavar="MODEL_ID",
                   help="model id to migrate from, as `voiceid speakers` shows it (needed when several are stored)")
    p.add_argument("--delete-source", action="store_true",
                   help="delete the source gallery once every voiceprint was carried over")
    p.add_argument("--dry-run", action="store_true", help="count what would be done; change nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON (for schedulers)")
    p = add("reshard", cmd_reshard, "move the gallery to another shard count without losing a voiceprint",
            "A gallery keeps the shard count it was created with, whatever VOICEID_SHARD_COUNT says later.\n"
            "To change it: set VOICEID_SHARD_COUNT on the app, then run this (the target is --to, else the\n"
            "setting). Voiceprints are copied to their new shards before the switch and removed from the old ones\n"
            "after it, so every voiceprint stays readable throughout; running it again is harmless.\n"
            "Run it in a quiet hour: every shard is rewritten and match workers reload them.\n"
            "examples:\n  voiceid reshard --to 16 --dry-run\n  VOICEID_SHARD_COUNT=16 voiceid reshard")
    p.add_argument("--to", type=int, help="new shard count (default: VOICEID_SHARD_COUNT)")
    p.add_argument("--model", metavar="MODEL_ID", help="only this model's gallery, as `voiceid speakers` shows it "
                                                       "(default: every stored model)")
    p.add_argument("--grace", type=float, default=10.0,
                   help="seconds between the switch and removing old copies, for enrolments in flight (default 10)")
    p.add_argument("--dry-run", action="store_true", help="count what would move; change nothing")
    p.add_argument("--json", action="store_true", help="print the reports as JSON (for schedulers)")
    add_ops_parsers(add)
    add_api_parser(add)
    add_view_parsers(add)
    add_eval_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("up", "host", "demo"):
        _setup_logging(False)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `voiceid results --json | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    except TimeoutError as exc:
        print(f"voiceid: {exc}", file=sys.stderr)
        return 2
    except VoiceIdError as exc:
        print(f"voiceid: {exc.message}\n  what to do: {exc.hint}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # a setting or argument to fix: the message names it
        print(f"voiceid: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    threading.current_thread().name = "cli"
    sys.exit(main())

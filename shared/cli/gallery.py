"""``voiceid reembed``, ``reshard`` and ``adapt``: move the gallery to another model, shard count or learned back-end."""

from __future__ import annotations

import argparse
import json
import sys

from shared.core.models import MODELS
from shared.storage.sealing import keyring


def cmd_reembed(args: argparse.Namespace) -> int:
    from dataclasses import asdict, replace

    from shared.core.settings import Settings
    from shared.ops.reembed import reembed
    from shared.storage.azure import get_storage

    settings = Settings.from_env()
    if args.to:
        settings = replace(settings, model=args.to, model_source=args.source or "")
        settings.validate()
    if args.adaptation:
        settings = replace(settings, adaptation=args.adaptation)
    report = reembed(get_storage(settings.storage_connection), settings, args.source_model,
                     delete_source=args.delete_source, dry_run=args.dry_run)
    if args.json:
        print(json.dumps({**asdict(report), "complete": report.complete}, indent=2, ensure_ascii=False))
    else:
        verb = "would re-embed" if args.dry_run else "re-embedded"
        todo = report.voiceprints - report.already
        print(f"{report.source} -> {report.target}: {report.voiceprints} voiceprints; "
              f"{verb} {todo if args.dry_run else report.reembedded}, {report.already} already there"
              + (f" ({report.watchlist} of them on the fraud watchlist)" if report.watchlist else ""))
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


def cmd_adapt(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from shared.core.settings import Settings
    from shared.ops.adapt import adapt, as_json
    from shared.storage.azure import get_storage

    settings = Settings.from_env()
    report = adapt(get_storage(settings.storage_connection), settings, Path(args.out), source=args.source_model,
                   method=args.method, folds=args.folds, min_speakers=args.min_speakers,
                   progress=lambda folds: tqdm(folds, desc="held-back folds", unit="fold", disable=args.json))
    if args.json:
        print(json.dumps(as_json(report), indent=2, ensure_ascii=False))
        return 0 if report.promoted else 1
    b, a = report.before, report.after
    print(f"{report.source}, {report.method}: {report.speakers} speakers, {report.voiceprints} voiceprints, "
          f"each speaker held back once ({args.folds} folds; {b['targets']} target and {b['non_targets']} "
          "impostor trials)")
    print("|             | unadapted | adapted |")
    for label, key, fmt in (("EER %", "eer", ".2f"), ("minDCF", "min_dcf", ".3f"), ("FAR at op %", "far", ".2f"),
                            ("FRR at op %", "frr", ".2f")):
        print(f"| {label:<11} | {b[key]:>9{fmt}} | {a[key]:>7{fmt}} |")
    if report.promoted:
        print(f"promoted: {report.why}\nwrote {report.out} ({report.adapted}); to use it:\n"
              f"  voiceid reembed --adaptation {report.out}      # builds the adapted gallery beside the current one\n"
              f"  then set VOICEID_ADAPTATION={report.out} on the app (and ship the file with it)")
        return 0
    print(f"not promoted: {report.why}; nothing was written", file=sys.stderr)
    return 1


def cmd_reshard(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from shared.core.settings import Settings
    from shared.gallery.store import stored_models
    from shared.ops.reshard import reshard
    from shared.storage.azure import get_storage

    settings = Settings.from_env()
    storage = get_storage(settings.storage_connection)
    to = args.to or settings.shard_count
    models = [args.model] if args.model else stored_models(storage)
    if not models:
        print("voiceid: the gallery is empty; a new gallery starts with VOICEID_SHARD_COUNT shards", file=sys.stderr)
        return 0
    reports = [reshard(storage, m, to, grace_s=args.grace, dry_run=args.dry_run, keyring=keyring(settings.voiceprint_keys))
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


REEMBED_HELP = """Run it before switching VOICEID_MODEL (or the model's weights), then switch: voiceprints of two models
are never scored together. The target is --to (else VOICEID_MODEL); the source is the one other model
in the gallery (or --from). Resumable: voiceprints already carried over are skipped.
examples:
  voiceid reembed --to resemblyzer --dry-run
  voiceid reembed --to resemblyzer --delete-source
  voiceid reembed --to campplus --dry-run      # CAM++: callers in noise or on phone lines (docs/accuracy.md)
exit status 1 when any voiceprint could not be carried over (audio gone, changed or refused)."""


ADAPT_HELP = """Learns a linear back-end (WCCN, or LDA then WCCN) from the voiceprints already in the gallery:
its speakers are labelled for free, and a bank's channels and rooms are what the pretrained model
never saw. The speakers with two or more voiceprints are split into folds; each fold is held back
while the back-end is learned on the others, and both the unadapted and the adapted voiceprints
are scored the product's way. Only when the adapted side has a lower EER and minDCF and a
calibrated operating point is the back-end learned on everyone and written to --out, with the
table inside. Nothing changes until you re-embed with it and set VOICEID_ADAPTATION.
examples:
  voiceid adapt --out adaptations/bank-wccn.npz
  voiceid adapt --out adaptations/bank-lda.npz --method lda --json
  voiceid reembed --adaptation adaptations/bank-wccn.npz
exit status 0 when promoted (the file is written), 1 when not (nothing written), 2 on an error
(e.g. adapt.too_few_speakers: fewer than 20 speakers with two or more voiceprints)."""


RESHARD_HELP = """A gallery keeps the shard count it was created with, whatever VOICEID_SHARD_COUNT says later.
To change it: set VOICEID_SHARD_COUNT on the app, then run this (the target is --to, else the
setting). Voiceprints are copied to their new shards before the switch and removed from the old ones
after it, so every voiceprint stays readable throughout; running it again is harmless.
Run it in a quiet hour: every shard is rewritten and match workers reload them.
examples:
  voiceid reshard --to 16 --dry-run
  VOICEID_SHARD_COUNT=16 voiceid reshard"""


def add_gallery_parsers(add) -> None:
    """The gallery migrations, added with the CLI's own ``add(name, func, help, epilog)``."""
    p = add("reembed", cmd_reembed, "carry the gallery over to another model by embedding the enrolment audio again",
            REEMBED_HELP)
    p.add_argument("--to", choices=tuple(MODELS), help="target model (default: VOICEID_MODEL)")
    p.add_argument("--source", help="weights of the target model (hub id, folder or file; default: the model's own)")
    p.add_argument("--from", dest="source_model", metavar="MODEL_ID",
                   help="model id to migrate from, as `voiceid speakers` shows it (needed when several are stored)")
    p.add_argument("--delete-source", action="store_true",
                   help="delete the source gallery once every voiceprint was carried over")
    p.add_argument("--adaptation", metavar="FILE",
                   help="re-embed through this back-end of 'voiceid adapt' (default: VOICEID_ADAPTATION)")
    p.add_argument("--dry-run", action="store_true", help="count what would be done; change nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON (for schedulers)")
    p = add("adapt", cmd_adapt, "learn a back-end from the gallery's own voiceprints; keep it only if held-back "
            "speakers score better", ADAPT_HELP)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the back-end when it is promoted")
    p.add_argument("--method", choices=("wccn", "lda"), default="wccn", help="the back-end to learn (default wccn)")
    p.add_argument("--from", dest="source_model", metavar="MODEL_ID",
                   help="the gallery to learn from, as `voiceid speakers` shows it (needed when several are stored)")
    p.add_argument("--folds", type=int, default=5, help="held-back folds of speakers (default 5)")
    p.add_argument("--min-speakers", type=int, default=20,
                   help="speakers with two or more voiceprints needed (default 20)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (for schedulers)")
    p = add("reshard", cmd_reshard, "move the gallery to another shard count without losing a voiceprint",
            RESHARD_HELP)
    p.add_argument("--to", type=int, help="new shard count (default: VOICEID_SHARD_COUNT)")
    p.add_argument("--model", metavar="MODEL_ID", help="only this model's gallery, as `voiceid speakers` shows it "
                                                       "(default: every stored model)")
    p.add_argument("--grace", type=float, default=10.0,
                   help="seconds between the switch and removing old copies, for enrolments in flight (default 10)")
    p.add_argument("--dry-run", action="store_true", help="count what would move; change nothing")
    p.add_argument("--json", action="store_true", help="print the reports as JSON (for schedulers)")

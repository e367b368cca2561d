"""``voiceid watch`` and ``voiceid report``: look at what the pipeline decided, live or as one page."""

from __future__ import annotations

import argparse
from pathlib import Path


def _client():
    from shared.cli.connect import make_client

    return make_client()


def cmd_watch(args: argparse.Namespace) -> int:
    from shared.client.watch import follow

    storage = _client().storage
    for text in follow(storage, args.prefix, last=args.last, interval_s=args.interval):
        print(text, flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from shared.ops.report import write_report

    client = _client()
    out = Path(args.out)
    data = write_report(client.storage, client.settings, out, recent=args.recent)
    print(f"wrote {out} ({sum(m['voiceprints'] for m in data.models)} voiceprints, {len(data.results)} "
          f"identify/verify results, {'an' if data.evaluation else 'no'} evaluation); open it in a browser")
    return 0


WATCH_HELP = """Shows the most recent results, then each new one as the pipeline writes it: time, kind,
status, decision (or the error code), speaker, score and file.
examples:
  voiceid watch                       # everything
  voiceid watch --prefix identify/    # identifications and verifications only
  voiceid watch --last 0 | tee -a watch.log   # only what arrives from now on"""


REPORT_HELP = """A static page (no server, no network): the gallery per model, counts of decisions and the
score distributions of the newest 1,000 identify/verify results against their threshold, the
latest evaluation (EER, minDCF, FAR/FRR at the threshold, its DET curve; 'voiceid eval trials'
keeps it), and the most recent results. It names speakers: it is written readable by you only.
examples:
  voiceid report --out report.html && xdg-open report.html
  voiceid report --out /srv/ops/voiceid-$(date +%F).html --recent 200"""


def add_view_parsers(add) -> None:
    """The two viewing commands, added with the CLI's own ``add(name, func, help, epilog)``."""
    p = add("watch", cmd_watch, "follow results as they appear, one line each (Ctrl-C stops)",
            WATCH_HELP)
    p.add_argument("--prefix", help="only results under this prefix, e.g. identify/ or enroll/Ann Lee/")
    p.add_argument("--last", type=int, default=10, help="how many past results to show first (default 10)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default 1)")
    p = add("report", cmd_report, "write one HTML page: gallery, decisions, score distributions, DET curve",
            REPORT_HELP)
    p.add_argument("--out", default="voiceid-report.html", help="the HTML file to write (default voiceid-report.html)")
    p.add_argument("--recent", type=int, default=50, help="how many recent results to list (default 50)")

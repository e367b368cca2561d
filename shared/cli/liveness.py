"""``voiceid liveness train``, ``check`` and ``calibrate``: build the spoof detector, try it on files, fit it to a channel."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shared.core.errors import ConfigError
from shared.core.paths import team_kit
from shared.core.settings import Settings

TRAIN_HELP = """Rebuild the liveness back-end (the presentation-attack detector) from labelled clips.

Each --protocol is a CSV with a header whose columns path (relative to its --root), label (spoof or
bonafide) and generator are read by name; a licence column, when there, keeps clips marked for
internal evaluation only (no licence file, rights unclear) out of the model unless
--include-internal. Default: the team kit's data/spoof/protocol.csv (attacks from a dozen
generators, live speech including telephone callers). Add your own attack and live recordings
with a second --protocol/--root pair: a bank's own callers make the best live speech.

Features are cached per file (~/.cache/voiceid/liveness/), so a retraining after adding clips only
pays for the new ones. The artefact is small (a few hundred KB) and carries its provenance; point
VOICEID_LIVENESS_MODEL at it, and measure it with `voiceid eval liveness` on clips it never saw.

examples:
  voiceid liveness train --out liveness.npz                       # the kit's set, shippable clips only
  voiceid liveness train --protocol ../shared/data/spoof/protocol.csv --root ../shared/data \\
      --protocol bank/attacks.csv --root bank/audio --replays --out liveness-bank.npz
"""

CHECK_HELP = """Score recordings with the liveness detector: is this a live person or a synthetic, cloned or replayed voice?

Prints, per file, the score (-log10 of the estimated share of live speech that looks this much like
an attack: 2 = one live caller in 100), the decision at VOICEID_LIVENESS_LIVE_SHARE (live,
inconclusive, attack) and the model. Uses VOICEID_LIVENESS_MODEL (default: the shipped model).

example:
  voiceid liveness check call.wav suspicious.mp3
"""

CALIBRATE_HELP = """Calibrate the liveness detector on your own live callers: the share of them refused comes back to target.

The shipped back-end's scores shift with the channel: on a phone line or a recording chain it never
heard, it can call 14-75 % of live speech an attack (docs/accuracy.md, "A new deployment's channel").
Give it recordings of your deployment that you know are live (agent-verified calls, enrolment audio
reviewed by staff: files or folders, searched recursively), and it writes a copy of the model whose
calibration is those recordings' scores, so that VOICEID_LIVENESS_LIVE_SHARE of such callers are
challenged. The back-end and what it detects do not change: on these features a calibration that
brings live callers back also lets more attacks through on that channel (the table in the docs says
how many). Any attack among the recordings weakens it further, so use reviewed calls only.

It needs at least 1/VOICEID_LIVENESS_LIVE_SHARE - 1 recordings (49 at 2 %) and is steadier with ten
times that; it prints the share the current calibration refuses and what the new one does.

example:
  voiceid liveness calibrate reviewed-calls/ --out liveness-bank.npz
  VOICEID_LIVENESS_MODEL=$PWD/liveness-bank.npz voiceid liveness check call.wav
"""


def _progress():
    from tqdm import tqdm

    return lambda items, desc: tqdm(list(items), desc=desc, unit="clip")


def cmd_train(args: argparse.Namespace) -> int:
    from shared.embedding.embedder import get_embedder
    from shared.evaluation.liveness import read_protocol
    from shared.evaluation.liveness_training import DEFAULT_PARTS, Clip, pick, train
    from shared.liveness.features import PARTS, FeatureCache
    from shared.pipeline.liveness_check import aasist_weights

    settings = Settings.from_env()
    kit = team_kit()
    protocols = args.protocol or ([str(kit / "data" / "spoof" / "protocol.csv")] if kit else [])
    roots = args.root or ([str(kit / "data")] if kit and not args.protocol else [])
    if not protocols or len(roots) != len(protocols):
        raise ConfigError("give one --root per --protocol (the folder its paths are relative to); without either, "
                          "the team kit's data/spoof/protocol.csv is used when ../shared sits beside the project")
    parts = tuple(args.parts.split(",")) if args.parts else DEFAULT_PARTS
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ConfigError(f"--parts: unknown {unknown}; choose from {', '.join(PARTS)}")
    clips = [Clip(row, Path(root)) for csv, root in zip(protocols, roots) for row in read_protocol(Path(csv))]
    missing = [c.file for c in clips if not c.file.is_file()]
    if missing:
        raise ConfigError(f"{len(missing)} clips of the protocol are missing, e.g. {missing[0]}: check --root")
    clips, left_out = pick(clips, args.include_internal)
    weights = aasist_weights(settings)
    if not (weights / "AASIST.pth").is_file():
        raise ConfigError(f"no AASIST weights in {weights}: set VOICEID_LIVENESS_WEIGHTS to the team kit's "
                          "models/aasist folder")
    embedder = get_embedder(Settings(model="ecapa", model_source=settings.model_source if settings.model == "ecapa"
                                     else "", model_cache=settings.model_cache, device=settings.device))
    cache = FeatureCache(Path(args.cache) if args.cache else
                         Path(settings.model_cache).expanduser().parent / "liveness" / "features-v2.npz")
    model = train(clips, parts, weights, embedder, cache, replays=args.replays, phone=args.phone,
                  balance=args.balance, name=args.name, sources=protocols, left_out=left_out, progress=_progress())
    out = Path(args.out)
    out.write_bytes(model.to_bytes())
    again = type(model).read(out)
    p = again.provenance
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {again.id}")
    print(f"  trained on {p['live_clips']} live and {p['attack_clips']} attack clips "
          f"({len(p['attack_species'])} species), {p['simulated_replays']} simulated replays, "
          f"{p['phone_copies']} phone copies; "
          f"{left_out} clips left out for their licence")
    print(f"  parts {'+'.join(again.parts)}; calibration: {p['calibration']}")
    print(f"  use it: VOICEID_LIVENESS_MODEL={out.resolve()}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from shared.embedding.frontend import embed_prepared, prepare
    from shared.pipeline import liveness_check

    settings = Settings.from_env()
    rows = []
    for name in args.files:
        emb = embed_prepared(prepare(Path(name).read_bytes(), settings), settings)
        live, ms = liveness_check.check(emb, settings, "verify")
        if live is None:
            raise ConfigError("VOICEID_LIVENESS=off: there is no liveness check to run")
        rows.append({"file": name, **live.to_json(), "ms": ms})
        if not args.json:
            strict = "  beyond the strict point: refused without a challenge or review" if live.strict else ""
            print(f"{live.decision:12s} score {live.score:5.2f} (attack from {live.threshold:.2f})  {name}{strict}")
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(f"model {rows[0]['model']}")
    return 0


def _audio_files(names: list[str]) -> list[Path]:
    from shared.client.bulk import is_audio

    found = []
    for name in map(Path, names):
        if name.is_dir():
            found += sorted(p for p in name.rglob("*") if is_audio(p))
        elif name.is_file():
            found.append(name)
        else:
            raise ConfigError(f"{name}: no such file or folder")
    return found


def cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from shared.core.errors import PermanentError
    from shared.embedding.frontend import embed_prepared, prepare
    from shared.liveness.calibration import ATTACK, decide, min_clips_for, threshold_for
    from shared.pipeline import liveness_check

    settings = Settings.from_env()
    detector = liveness_check.get_detector(settings)
    files = _audio_files(args.files)
    need = min_clips_for(settings.liveness_live_share)
    if len(files) < need:
        raise ConfigError(f"{len(files)} recordings: a calibration at VOICEID_LIVENESS_LIVE_SHARE="
                          f"{settings.liveness_live_share} needs at least {need} live ones (ten times that is steadier)")
    scores, skipped = [], []
    for path in _progress()(files, "calibrating"):
        try:
            emb = embed_prepared(prepare(path.read_bytes(), settings), settings)
        except PermanentError as err:
            skipped.append(f"{path}: {err}")
            continue
        scores.append(detector.raw_score(emb.samples, liveness_check.speaker_taps(detector, emb, settings)))
    for line in skipped[:5]:
        print(f"skipped {line}")
    if len(scores) < need:
        raise ConfigError(f"only {len(scores)} of the recordings could be scored ({len(skipped)} skipped); "
                          f"at least {need} are needed")
    model = detector.model.recalibrated(np.array(scores), args.note or "live recordings of the deployment")
    out = Path(args.out)
    out.write_bytes(model.to_bytes())
    again = type(model).read(out)
    share = settings.liveness_live_share
    before = np.mean([decide(detector.model.calibration.score(s), share) == ATTACK for s in scores])
    after = np.mean([decide(again.calibration.score(s), share) == ATTACK for s in scores])
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {again.id}, recalibrated from {detector.model.id}")
    print(f"  {len(scores)} live recordings ({len(skipped)} skipped); at the threshold {threshold_for(share):.2f} "
          f"(VOICEID_LIVENESS_LIVE_SHARE={share}) {detector.model.id} called {100 * before:.1f} % of them attacks, "
          f"the new calibration {100 * after:.1f} %")
    print(f"  use it: VOICEID_LIVENESS_MODEL={out.resolve()}")
    return 0


def add_liveness_parser(sub) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    lv = sub.add_parser("liveness", help="the spoof detector: train it, check files with it, calibrate it on your callers",
                        description="The presentation-attack (spoof) detector.", formatter_class=fmt)
    lsub = lv.add_subparsers(dest="liveness_command", required=True, metavar="ACTION")
    p = lsub.add_parser("train", help="rebuild the back-end from labelled clips", description=TRAIN_HELP,
                        formatter_class=fmt)
    p.add_argument("--protocol", action="append", help="CSV with path,label,generator[,licence] (repeatable)")
    p.add_argument("--root", action="append", help="folder the matching --protocol's paths are relative to")
    p.add_argument("--out", required=True, help="the artefact to write (.npz)")
    p.add_argument("--parts", help="feature parts, comma-separated (default: the measured winner, see docs/accuracy.md)")
    p.add_argument("--replays", action="store_true", help="add one simulated replay of each live clip as an attack")
    p.add_argument("--phone", action="store_true",
                   help="also train on every wide-band clip over a simulated phone line (same label)")
    p.add_argument("--balance", action="store_true",
                   help="every live corpus and attack species counts equally (else every clip does)")
    p.add_argument("--include-internal", action="store_true",
                   help="also train on clips marked for internal evaluation only (the result must not be shipped)")
    p.add_argument("--name", default="liveness", help="model name written into results (default liveness)")
    p.add_argument("--cache", help="feature cache file (default ~/.cache/voiceid/liveness/features-v2.npz)")
    p.set_defaults(func=cmd_train)
    p = lsub.add_parser("check", help="score recordings: live or attack?", description=CHECK_HELP,
                        formatter_class=fmt)
    p.add_argument("files", nargs="+", help="audio or video files")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_check)
    p = lsub.add_parser("calibrate", help="calibrate on your own live callers (a new channel)",
                        description=CALIBRATE_HELP, formatter_class=fmt)
    p.add_argument("files", nargs="+", help="recordings known to be live: audio or video files, or folders")
    p.add_argument("--out", required=True, help="the recalibrated model to write (.npz)")
    p.add_argument("--note", help="what the recordings are, kept in the model's provenance (no names)")
    p.set_defaults(func=cmd_calibrate)

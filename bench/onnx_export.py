"""ECAPA exported to ONNX (fp32 and int8) against PyTorch: agreement and speed, in one process.

The filterbank features and their normalisation stay in PyTorch (0.1 s for 40 clips);
the ECAPA-TDNN network itself is exported with ``torch.onnx.export`` and run with
ONNX Runtime (2 intra-op threads, as torch). Rule (issue 6): use the export when its
embeddings agree (cosine >= 0.999 with PyTorch's on every clip) *and* it is faster.

    .venv/bin/python -m bench.onnx_export [--json docs/onnx_export.json]

40 team-kit clips: 20 LibriSpeech-multi and 20 Hyke telephone. PyTorch runs first and
last, so drift shows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import decoded, kit_files, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder

AGREEMENT = 0.999


def export(model, folder: Path) -> dict[str, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = folder / "ecapa.onnx", folder / "ecapa.int8.onnx"
    torch.onnx.export(model.mods.embedding_model.eval(), (torch.randn(1, 300, 80), torch.ones(1)), str(fp32),
                      input_names=["feats", "lens"], output_names=["emb"], dynamic_axes={"feats": {1: "T"}},
                      opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return {"onnx fp32": fp32, "onnx int8": int8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import onnxruntime as ort
    import torch

    settings = Settings.from_env()
    embedder = get_embedder(settings)
    model = embedder._model
    clips = [decoded(p) for p in kit_files(each=20)]
    audio_s = sum(len(c) for c in clips) / 16_000

    def features(c: np.ndarray) -> np.ndarray:
        wav = torch.from_numpy(c).unsqueeze(0)
        return model.mods.mean_var_norm(model.mods.compute_features(wav), torch.ones(1)).numpy()

    runners = {"pytorch": embedder.embed_whole}
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(torch.get_num_threads(), 1)
        for name, path in export(model, Path(tmp)).items():
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            runners[name] = (lambda s: lambda c: s.run(None, {"feats": features(c),
                                                                "lens": np.ones(1, np.float32)})[0].squeeze())(session)
        rows = {}
        with torch.inference_mode():
            reference = [embedder.embed_whole(c) for c in clips]
            for name in ["pytorch", "onnx fp32", "onnx int8", "pytorch"]:
                run = runners[name]
                run(clips[0])
                t = time.perf_counter()
                out = [run(c) for c in clips]
                took = time.perf_counter() - t
                cos = [float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(reference, out)]
                rows.setdefault(name, []).append({"seconds": took, "rtf": audio_s / took, "min_cosine": min(cos)})
    base = min(r["seconds"] for r in rows["pytorch"])
    print(f"machine: {machine()}\nmodel {embedder.info.id}; {len(clips)} clips, {audio_s:.0f} s of audio\n")
    print("| runtime | seconds | × real time | speed vs PyTorch | min cosine vs PyTorch | usable |\n|---|---|---|---|---|---|")
    for name, runs in rows.items():
        for r in runs:
            usable = r["min_cosine"] >= AGREEMENT and r["seconds"] < base
            print(f"| {name} | {r['seconds']:.2f} | {r['rtf']:.0f} | {base / r['seconds']:.2f} | "
                  f"{r['min_cosine']:.6f} | {'yes' if usable or name == 'pytorch' else 'no'} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "model_id": embedder.info.id, "audio_s": audio_s,
                                         "runs": rows}, indent=2))


if __name__ == "__main__":
    main()

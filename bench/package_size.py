"""What the Azure package holds: the code zip and the dependencies it installs, against an earlier revision.

Builds the ``voiceid package`` zip of this tree and of ``--before`` (a git revision, checked out
into a temporary worktree), and adds up the installed size of each revision's requirements.txt
with everything it pulls in, read from the distributions installed in this venv (so both sides
are measured the same way; torch's CUDA wheels dominate either side).

    .venv/bin/python -m bench.package_size --before c855a6a [--json docs/package_size.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.common import machine
from shared.core.paths import PACKAGE_PARENT as ROOT

BUILD = """
import sys, zipfile
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
if (root / "shared" / "package.py").is_file():  # before the subpackages
    from shared.package import build
else:
    from shared.ops.package import build
names = build(Path(sys.argv[2]), "flex", root=root)
print(len(names))
"""


def zip_of(tree: Path, out: Path) -> dict:
    """Build the flex package of ``tree`` in a fresh interpreter (its own ``shared``, not this one)."""
    subprocess.run([sys.executable, "-c", BUILD, str(tree), str(out)], check=True, capture_output=True, text=True,
                   cwd=tree)
    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
    py = [i for i in infos if i.filename.startswith("shared/") and i.filename.endswith(".py")]
    return {"zip_bytes": out.stat().st_size, "unzipped_bytes": sum(i.file_size for i in infos), "files": len(infos),
            "shared_modules": len(py), "shared_py_bytes": sum(i.file_size for i in py)}


def _closure(names: list[str], dists: dict) -> set[str]:
    seen, todo = set(), [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for text in dists[name].requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def dependencies(requirements: str) -> dict:
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    names = [Requirement(line.split("#")[0].strip()).name for line in requirements.splitlines()
             if line.split("#")[0].strip() and not line.startswith("-")]
    found = _closure(names, dists)
    size = {n: sum(f.size or 0 for f in dists[n].files or []) for n in found}
    return {"distributions": len(found), "installed_mib": round(sum(size.values()) / 2**20, 1), "sizes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.before], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            before = {**zip_of(old, Path(tmp) / "before.zip"),
                      **dependencies((old / "requirements.txt").read_text())}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=True)
        after = {**zip_of(ROOT, Path(tmp) / "after.zip"), **dependencies((ROOT / "requirements.txt").read_text())}
    gone = sorted(set(before.pop("sizes")) - set(after.pop("sizes")))
    report = {"machine": machine(), "before": {"revision": args.before, **before}, "after": after,
              "zip_ratio": round(after["zip_bytes"] / before["zip_bytes"], 3),
              "dependencies_ratio": round(after["installed_mib"] / before["installed_mib"], 3),
              "no_longer_installed": gone}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

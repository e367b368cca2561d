"""``voiceid package``: the zip Azure Functions runs, for either hosting of infra/main.bicep.

The package holds exactly what the function app needs: ``host.json``, ``requirements.txt``,
every function folder and the ``shared`` package (no tests, no caches, no local
settings). For Flex Consumption every blob trigger gets ``"source": "EventGrid"``, the
only blob trigger that plan supports; the function code is the same, and the local host
keeps polling either way. Premium runs the zip from a blob URL, with no build step on
Azure, so its dependencies go in with ``--site-packages`` (``pip install --target``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from shared.core.paths import project_root

HOSTINGS = ("premium", "flex")
SKIP_PARTS = {"__pycache__", "localhost"}  # the local host is for laptops and tests, never deployed
SKIP_SUFFIXES = (".pyc", ".pyo")


def function_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/function.json"))


def function_json(path: Path, hosting: str) -> str:
    """A function.json as the hosting needs it: blob triggers from Event Grid on Flex Consumption."""
    config = json.loads(path.read_text())
    if hosting == "flex":
        for binding in config["bindings"]:
            if binding["type"] == "blobTrigger":
                binding["source"] = "EventGrid"
    return json.dumps(config, indent=2) + "\n"


def _files(folder: Path, root: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not SKIP_PARTS & set(p.relative_to(root).parts)
            and not p.name.endswith(SKIP_SUFFIXES)]


def build(out: Path, hosting: str, *, root: Path | None = None, site_packages: Path | None = None) -> list[str]:
    """Write the package zip to ``out``; returns the names it holds."""
    if hosting not in HOSTINGS:
        raise ValueError(f"hosting must be one of {', '.join(HOSTINGS)}")
    root = project_root() if root is None else root
    out.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in ("host.json", "requirements.txt"):
            zf.write(root / name, name)
            names.append(name)
        for folder in function_folders(root) + [root / "shared"]:
            for path in _files(folder, root):
                arc = path.relative_to(root).as_posix()
                if path.name == "function.json":
                    zf.writestr(arc, function_json(path, hosting))
                else:
                    zf.write(path, arc)
                names.append(arc)
        if site_packages is not None:
            for path in sorted(p for p in site_packages.rglob("*") if p.is_file()):
                arc = ".python_packages/lib/site-packages/" + path.relative_to(site_packages).as_posix()
                zf.write(path, arc)
                names.append(arc)
    return names

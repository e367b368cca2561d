"""Where the project is: the folder with ``host.json`` and the function folders, and the team kit beside it.

The package never assumes it sits inside a checkout (``pip install .`` puts it in
site-packages). The project root is, in order: ``VOICEID_PROJECT_ROOT``; on Azure the app's
script root (``AzureWebJobsScriptRoot``); the working directory or the nearest folder above
it that holds a project; the folder above this package when that is one (an editable
install, the deployed zip). Commands that need it (``up``, ``host``, ``demo``, ``package``)
fail with what to do when there is none.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.core.errors import ConfigError

ENV = "VOICEID_PROJECT_ROOT"
PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the folder holding the ``shared`` package


def is_project(folder: Path) -> bool:
    """A function app's folder: ``host.json`` beside the ``shared`` package or a function folder."""
    return (folder / "host.json").is_file() and ((folder / "shared").is_dir() or any(folder.glob("*/function.json")))


def find_project_root(start: Path | None = None) -> Path | None:
    """The project root by the rules above, or None when nothing qualifies."""
    for name in (ENV, "AzureWebJobsScriptRoot"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return PACKAGE_PARENT if is_project(PACKAGE_PARENT) else None


def project_root() -> Path:
    """The project root; a :class:`ConfigError` that says what to do when there is none."""
    root = find_project_root()
    if root is None:
        raise ConfigError(f"{Path.cwd()} is not inside a voiceid project folder (no host.json with function "
                          f"folders): cd into the checkout, or set {ENV} to it")
    if not (root / "host.json").is_file():
        raise ConfigError(f"{root} has no host.json; {ENV} (or the working directory) must name the project folder")
    return root


def team_kit() -> Path | None:
    """The team kit (``../shared`` beside the project folder) when it is there."""
    root = find_project_root()
    kit = root.parent / "shared" if root is not None else None
    return kit if kit is not None and (kit / "models").is_dir() else None

"""requirements.txt from pyproject.toml: one list of dependencies, two files Azure and pip read.

Azure Functions installs ``requirements.txt`` beside ``host.json``; ``pip install .`` reads
``pyproject.toml``. The pins are written once, in pyproject's ``dependencies`` and
``optional-dependencies``; ``make requirements`` regenerates the file, a unit test fails when
the two disagree, and ``voiceid package --extras ge2e`` ships the pins of an extra as well.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.core.errors import ConfigError

HEADER = ("# Generated from pyproject.toml by `make requirements` (python -m shared.ops.requirements): edit the pins\n"
          "# there. The runtime dependencies of the function app, what Azure Functions installs on deploy.\n")


def _pyproject(root: Path) -> dict:
    try:
        import tomllib
    except ImportError as exc:  # Python 3.10
        raise ConfigError("reading pyproject.toml needs Python 3.11 or newer (tomllib)") from exc
    return tomllib.loads((root / "pyproject.toml").read_text())


def requirements(root: Path, extras: tuple[str, ...] = ()) -> str:
    """The text of requirements.txt: the base dependencies, then those of each extra named."""
    project = _pyproject(root)["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise ConfigError(f"no extra {', '.join(unknown)} in pyproject.toml; there are: {', '.join(optional)}")
    lines = [HEADER, *(f"{d}\n" for d in project["dependencies"])]
    for extra in extras:
        lines += [f"# extra: {extra}\n", *(f"{d}\n" for d in optional[extra])]
    return "".join(lines)


if __name__ == "__main__":
    from shared.core.paths import project_root

    sys.stdout.write(requirements(project_root(), tuple(sys.argv[1:])))

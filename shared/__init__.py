"""voiceid: self-hosted voice biometrics on Azure Functions.

Subpackages by job, in the order the data flows, each importing only those below it
(docs/architecture.md draws the layers; ``make test`` enforces them with import-linter):
``core`` (settings, names, records, the storage contract) -> ``storage`` -> ``audio`` ->
``embedding`` -> ``scoring`` -> ``gallery`` -> ``results`` -> ``pipeline`` and ``privacy`` ->
``api`` -> ``entrypoints`` (what the function folders call); beside them, never deployed:
``client``, ``evaluation``, ``ops``, ``localhost`` and ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voiceid")
except PackageNotFoundError:  # the deployed zip and a bare checkout carry no package metadata
    __version__ = "0+unknown"

"""Validate result documents against the published JSON schemas (shared/schemas)."""

import json
from functools import lru_cache

import jsonschema

from shared.core.paths import PROJECT_ROOT


@lru_cache(maxsize=None)
def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((PROJECT_ROOT / "shared" / "schemas" / f"{kind}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def assert_valid(doc: dict) -> None:
    """Raise with every violation when ``doc`` does not match the schema of its kind."""
    errors = sorted(validator(doc["kind"]).iter_errors(doc), key=str)
    assert not errors, "\n".join(e.message for e in errors)

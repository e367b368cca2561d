"""Key rotation on the in-memory storage: every biometric blob ends under the new key, even while it changes."""

from __future__ import annotations

from shared.core import contract
from shared.core.keys import new_key_entry
from shared.ops.rotation import rotate
from shared.storage.sealing import Keyring, sealed_kid
from tests.helpers import racing_storage

K1, K2 = new_key_entry("k1"), new_key_entry("k2")
BLOBS = {(contract.GALLERY, "m/v1/shard-0000.npz"): b"shard", (contract.GALLERY, "m/v1/stats.npz"): b"stats",
         (contract.MATCH_STATE, "req/probe.npy"): b"probe"}


def test_rotation_reseals_everything_under_the_first_key_and_leaves_other_blobs_alone():
    shard = (contract.GALLERY, "m/v1/shard-0000.npz")
    storage = racing_storage({shard: 2})  # an enrolment rewrites the shard twice during the rotation
    old = Keyring.parse(K1)
    for (container, name), data in BLOBS.items():
        sealed = old.seal(data, f"{container}/{name}") if name != "req/probe.npy" else data  # one plaintext
        storage.write(container, name, sealed)
    storage.write_json(contract.GALLERY, contract.lock_blob("ann"), {"failures": {}})
    both = Keyring.parse(f"{K2},{K1}")
    check = rotate(storage, both, check_only=True, progress=False)
    assert (check.found, check.pending, check.resealed) == ({"k1": 2, "plaintext": 1}, 3, 0)
    report = rotate(storage, both, progress=False)
    assert report.resealed == 3 and report.vanished == 0
    only_new = Keyring.parse(K2)
    for (container, name), data in BLOBS.items():
        blob = storage.read(container, name)[0]
        assert sealed_kid(blob) == "k2" and only_new.open(blob, f"{container}/{name}") == data
    assert storage.read_json(contract.GALLERY, contract.lock_blob("ann")) == {"failures": {}}  # not biometric
    assert rotate(storage, both, check_only=True, progress=False).pending == 0

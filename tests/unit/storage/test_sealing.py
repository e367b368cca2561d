"""The envelope format of shared.storage.sealing: what opens, what does not, and what never leaks."""

from __future__ import annotations

import pytest

from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.storage import sealing

DATA = b"\x00\x01voiceprint matrix\xff" * 50


@pytest.fixture
def ring() -> sealing.Keyring:
    return sealing.Keyring.parse(sealing.new_key_entry("k1"))


def test_round_trip_and_a_fresh_data_key_per_blob(ring):
    one, two = ring.seal(DATA, "gallery/a"), ring.seal(DATA, "gallery/a")
    assert one != two and DATA not in one
    assert ring.open(one, "gallery/a") == ring.open(two, "gallery/a") == DATA
    assert sealing.sealed_kid(one) == "k1"


@pytest.mark.parametrize("change", ["moved", "flipped", "header"])
def test_a_moved_or_altered_blob_does_not_open(ring, change):
    blob = ring.seal(DATA, "gallery/ecapa/1/shard-0000.npz")
    where = "gallery/ecapa/1/shard-0000.npz"
    if change == "moved":
        where = "gallery/ecapa/1/shard-0001.npz"
    elif change == "flipped":
        blob = blob[:-5] + bytes([blob[-5] ^ 1]) + blob[-4:]
    else:
        blob = blob.replace(b'"nonce":"', b'"nonce":"A', 1)
    with pytest.raises(PermanentError) as err:
        ring.open(blob, where)
    assert err.value.code == "seal.damaged"


def test_old_keys_open_and_the_first_seals():
    old, new = sealing.new_key_entry("old"), sealing.new_key_entry("new")
    sealed_old = sealing.Keyring.parse(old).seal(DATA, "x/y")
    both = sealing.Keyring.parse(f"{new}, {old}")
    assert both.active == "new" and both.open(sealed_old, "x/y") == DATA
    assert sealing.sealed_kid(both.seal(DATA, "x/y")) == "new"
    with pytest.raises(PermanentError) as err:
        sealing.Keyring.parse(new).open(sealed_old, "x/y")
    assert err.value.code == "seal.key_missing" and "add that key back" in str(err.value)


def test_plaintext_passes_through_without_keys_and_with_them():
    assert sealing.Keyring().seal(DATA, "x/y") == DATA
    assert sealing.Keyring.parse(sealing.new_key_entry("k")).open(DATA, "x/y") == DATA


@pytest.mark.parametrize("text, says", [
    ("nokid", "not 'kid:base64key'"),
    ("k1:not base64!", "not base64"),
    ("k1:c2hvcnQ=", "AES-256 needs 32"),
    ("bad kid:" + "A" * 44, "not 'kid:base64key'"),
])
def test_bad_key_settings_say_what_to_fix_and_never_echo_the_key(text, says):
    with pytest.raises(ValueError) as err:
        Settings.from_env({sealing.ENV: text})
    assert says in str(err.value) and sealing.ENV in str(err.value)
    assert text.partition(":")[2] not in str(err.value) or not text.partition(":")[2]


def test_a_key_listed_twice_is_refused():
    entry = sealing.new_key_entry("k1")
    with pytest.raises(ValueError, match="listed twice"):
        sealing.Keyring.parse(f"{entry},{entry}")


def test_settings_repr_masks_the_keys():
    entry = sealing.new_key_entry("k1")
    shown = repr(Settings.from_env({sealing.ENV: entry}))
    assert entry.partition(":")[2] not in shown and "active='k1'" in shown


def test_the_cli_says_what_to_fix_without_a_traceback(capsys, monkeypatch):
    from shared.cli.main import main

    assert main(["keygen", "bad id"]) == 2
    monkeypatch.setenv(sealing.ENV, "garbage")
    assert main(["rotate-key", "--check"]) == 2
    err = capsys.readouterr().err
    assert "a key id is 1-64 letters" in err and f"{sealing.ENV}: entry 1 is not 'kid:base64key'" in err
    assert "Traceback" not in err
    key = sealing.new_key_entry("k1")
    assert main(["keygen", "k1"]) == 0 and capsys.readouterr().out.startswith("k1:") and len(key) > 40

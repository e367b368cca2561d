import pytest

from shared.core.models import HUB_MODEL_ID
from shared.core.settings import Settings, liveness_policy, resolve_model_source
from tests.helpers import TEAM_KIT_MODEL


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.shard_count >= 1
    assert settings.target_far == 0.01


def test_environment_overrides_with_types():
    settings = Settings.from_env({"VOICEID_SHARD_COUNT": "8", "VOICEID_TARGET_FAR": "0.001",
                                  "VOICEID_MODEL_SOURCE": HUB_MODEL_ID})
    assert (settings.shard_count, settings.target_far, settings.model_source) == (8, 0.001, HUB_MODEL_ID)


@pytest.mark.parametrize(("name", "value"), [("VOICEID_SHARD_COUNT", "0"), ("VOICEID_SHARD_COUNT", "many"),
                                             ("VOICEID_SCORE_AGGREGATION", "median"), ("VOICEID_DEVICE", "tpu"),
                                             ("VOICEID_TARGET_FAR", "1"), ("VOICEID_TARGET_FAR", "0"),
                                             ("VOICEID_ENROLL_MISMATCH", "ignore"),
                                             ("VOICEID_MODEL", "wav2vec"), ("VOICEID_LIVENESS", "warn"),
                                             ("VOICEID_LIVENESS_IDENTIFY", "on"),
                                             ("VOICEID_LIVENESS_LIVE_SHARE", "0"),
                                             ("VOICEID_LIVENESS_LIVE_SHARE", "0.6")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_account_key_is_masked_in_repr():
    fake_key = "fake-key-used-only-to-test-masking"
    conn = f"DefaultEndpointsProtocol=https;AccountName=prod;AccountKey={fake_key};EndpointSuffix=x"
    text = repr(Settings.from_env({"AzureWebJobsStorage": conn}))
    assert fake_key not in text
    assert "AccountKey=***" in text


def test_model_source_defaults_follow_the_chosen_model():
    ecapa = resolve_model_source(Settings.from_env({}))
    assert ecapa in (str(TEAM_KIT_MODEL), HUB_MODEL_ID)  # the kit's folder when it sits beside the checkout
    assert resolve_model_source(Settings.from_env({"VOICEID_MODEL": "xvector"})) == "speechbrain/spkrec-xvect-voxceleb"
    assert resolve_model_source(Settings.from_env({"VOICEID_MODEL": "resemblyzer"})) == ""  # weights in the wheel
    chosen = Settings.from_env({"VOICEID_MODEL": "xvector", "VOICEID_MODEL_SOURCE": "/models/xvect"})
    assert resolve_model_source(chosen) == "/models/xvect"


def test_identity_based_storage_settings_make_an_endpoints_only_connection():
    """On Azure (infra/main.bicep) there is no AzureWebJobsStorage string, only the account and the identity."""
    from shared.storage.credentials import needs_token

    settings = Settings.from_env({"AzureWebJobsStorage__accountName": "voiceidacct"})
    assert settings.storage_connection == ("BlobEndpoint=https://voiceidacct.blob.core.windows.net;"
                                           "QueueEndpoint=https://voiceidacct.queue.core.windows.net")
    assert needs_token(settings.storage_connection)
    assert not needs_token("UseDevelopmentStorage=true") and not needs_token("AccountName=a;AccountKey=k")
    assert Settings.from_env({}).storage_connection == "UseDevelopmentStorage=true"
    with pytest.raises(ValueError, match="queueServiceUri"):
        Settings.from_env({"AzureWebJobsStorage__blobServiceUri": "https://x.blob.core.windows.net"})


def test_the_storage_client_authenticates_as_the_named_managed_identity(monkeypatch):
    from azure.identity import ManagedIdentityCredential

    from shared.storage.azure import AzureStorage

    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    monkeypatch.setenv("AzureWebJobsStorage__clientId", "00000000-0000-0000-0000-00000000abcd")
    conn = Settings.from_env({"AzureWebJobsStorage__accountName": "voiceidacct"}).storage_connection
    client = AzureStorage(conn)  # builds clients only: no token is fetched until a call
    assert isinstance(client.blobs.credential, ManagedIdentityCredential)
    assert client.queues.url == "https://voiceidacct.queue.core.windows.net/"


def test_liveness_rejects_for_enrol_and_verify_and_flags_for_search_by_default():
    settings = Settings.from_env({})
    assert [liveness_policy(settings, kind) for kind in ("enroll", "verify", "identify")] == ["reject", "reject", "flag"]
    strict = Settings.from_env({"VOICEID_LIVENESS_IDENTIFY": "reject", "VOICEID_LIVENESS": "off"})
    assert [liveness_policy(strict, kind) for kind in ("enroll", "verify", "identify")] == ["off", "off", "reject"]

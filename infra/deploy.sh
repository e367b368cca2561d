#!/usr/bin/env bash
# Deploy voiceid to a real subscription with the az CLI (signed in with `az login`, Owner or
# Contributor + User Access Administrator on the resource group: the template assigns roles).
#
#   infra/deploy.sh RESOURCE_GROUP PREFIX [premium|flex] [LOCATION]
#
# Order: infrastructure (with the voiceprint key-encryption key, an HSM key that never leaves Key Vault), the
# code package, then (flex) the Event Grid subscriptions, which need the published code's blobs_extension key.
# KEY_CUSTODY=secret keeps the older layout (a key in a Key Vault secret, made once here, never printed) for a
# deployment that has not run voiceid rotate-key onto the vault key yet (docs/security.md).
# Re-running is safe: the template is idempotent, the keys are kept, the package is replaced.
# Status: written against the documented az commands; not run from the project's environment (no cloud).
set -euo pipefail

RG=${1:?usage: infra/deploy.sh RESOURCE_GROUP PREFIX [premium|flex] [LOCATION]}
PREFIX=${2:?usage: infra/deploy.sh RESOURCE_GROUP PREFIX [premium|flex] [LOCATION]}
HOSTING=${3:-premium}
LOCATION=${4:-westeurope}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
VOICEID="${VOICEID:-$ROOT/.venv/bin/voiceid}"
KEY_CUSTODY=${KEY_CUSTODY:-vaultKey}
OPERATOR=$(az ad signed-in-user show --query id -o tsv 2>/dev/null || true)  # you get the operator roles

echo "1/5 infrastructure ($HOSTING) in $RG"
az group create -n "$RG" -l "$LOCATION" -o none
out=$(az deployment group create -g "$RG" -f "$HERE/main.bicep" \
  -p prefix="$PREFIX" hosting="$HOSTING" operatorPrincipalId="$OPERATOR" keyCustody="$KEY_CUSTODY" \
  --query properties.outputs -o json)
APP=$(jq -r .functionApp.value <<<"$out")
ACCOUNT=$(jq -r .storageAccount.value <<<"$out")
VAULT=$(jq -r .keyVault.value <<<"$out")

echo "2/5 voiceprint key in $VAULT: $(jq -r .voiceprintKey.value <<<"$out") ($KEY_CUSTODY)"
if [ "$KEY_CUSTODY" = secret ] && ! az keyvault secret show --vault-name "$VAULT" --name voiceprint-keys -o none 2>/dev/null; then
  "$VOICEID" keygen "k$(date +%Y%m)" | az keyvault secret set --vault-name "$VAULT" --name voiceprint-keys \
    --file /dev/stdin -o none
fi

echo "3/5 package"
mkdir -p "$ROOT/build"
if [ "$HOSTING" = premium ]; then
  rm -rf "$ROOT/build/site"
  python3.11 -m pip install --quiet --target "$ROOT/build/site" -r "$ROOT/requirements.txt"
  "$VOICEID" package --hosting premium --site-packages "$ROOT/build/site" --out "$ROOT/build/voiceid.zip"
else
  "$VOICEID" package --hosting flex --out "$ROOT/build/voiceid.zip"
fi

echo "4/5 publish to $APP"
if [ "$HOSTING" = premium ]; then
  blob="voiceid-$(date +%Y%m%d%H%M%S).zip"
  az storage blob upload --auth-mode login --account-name "$ACCOUNT" -c deployments -n "$blob" \
    -f "$ROOT/build/voiceid.zip" -o none
  url="https://$ACCOUNT.blob.core.windows.net/deployments/$blob"
  az deployment group create -g "$RG" -f "$HERE/main.bicep" -o none \
    -p prefix="$PREFIX" hosting=premium operatorPrincipalId="$OPERATOR" keyCustody="$KEY_CUSTODY" packageUrl="$url"
else
  az functionapp deployment source config-zip -g "$RG" -n "$APP" --src "$ROOT/build/voiceid.zip" \
    --build-remote true -o none
fi

echo "5/5 blob events"
if [ "$HOSTING" = flex ]; then
  az deployment group create -g "$RG" -f "$HERE/eventgrid.bicep" -p storageAccount="$ACCOUNT" functionApp="$APP" -o none
else
  echo "    premium polls the containers: no subscription needed"
fi
echo "done: upload to https://$ACCOUNT.blob.core.windows.net/enroll/<speaker>/<file> (az storage blob upload --auth-mode login)"

// voiceid on Azure: one storage account holding the storage contract, one Linux Function App (Python 3.11,
// v1 programming model), a user-assigned managed identity with data roles only, a Key Vault holding the voiceprint
// key-encryption key (an HSM-backed key that wraps data keys inside the vault), Application Insights. No secret is in this file and none is made by it: the app reaches storage, Key Vault
// and Application Insights as its identity (no connection string, no account key; shared-key access is off).
// Two hostings: 'premium' (Elastic Premium, the polling blob trigger, the model stays warm) and 'flex'
// (Flex Consumption: blob triggers with "source": "EventGrid", subscriptions in eventgrid.bicep after publishing).
// tests/unit/test_infra.py parses this file offline and asserts these properties; infra/README.md deploys it.

@description('Name prefix for every resource (3-11 lowercase letters or digits).')
@minLength(3)
@maxLength(11)
param prefix string
param location string = resourceGroup().location
@description('premium: Elastic Premium with polling blob triggers. flex: Flex Consumption with Event Grid blob triggers.')
@allowed(['premium', 'flex'])
param hosting string = 'premium'
@description('Elastic Premium size (premium hosting): EP1 holds the model (~1 GB resident) with room for bursts.')
param planSku string = 'EP1'
@description('Blob soft delete, days. Erased voiceprints stay recoverable this long, so it must not exceed the erasure window (30 days, docs/security.md).')
@minValue(1)
@maxValue(30)
param blobSoftDeleteDays int = 7
@description('Days the audit log is kept immutable (append-only: new events can be added, none changed or deleted).')
@minValue(1)
param auditRetentionDays int = 365
@description('Backstop, days: the storage account deletes identify/ uploads and results/identify/ older than this, should the retention timer stop (the app itself deletes them after VOICEID_PROBE_AUDIO_RETENTION_S and VOICEID_RESULT_RETENTION_S).')
@minValue(1)
param probeBackstopDays int = 31
@description('Object id of the operator group (or user) that runs the voiceid CLI (delete, rotate-key, audit): data roles on the storage account, secret reader on the vault. Empty: none.')
param operatorPrincipalId string = ''
@description('Blob URL of the app package (premium hosting runs from this zip, read with the managed identity; deploy.sh uploads it). Empty at the first deployment: deploy.sh uploads the zip, then deploys again with its URL.')
param packageUrl string = ''
@description('vaultKey: data keys are wrapped by the Key Vault key voiceprint-kek (it never leaves the vault; the app holds the Key Vault Crypto User role on that key only). secret: the older layout, a key-encryption key in the Key Vault secret voiceprint-keys that the app loads into memory; keep it only until voiceid rotate-key has moved the blobs (docs/security.md).')
@allowed(['vaultKey', 'secret'])
param keyCustody string = 'vaultKey'
@description('premium: the key-encryption key is HSM-protected (RSA-HSM, FIPS 140 Level 3). standard: software-protected RSA.')
@allowed(['premium', 'standard'])
param vaultSku string = 'premium'

var suffix = uniqueString(resourceGroup().id)
var storageName = take('${prefix}${suffix}', 24)
var vaultName = take('${prefix}-kv-${suffix}', 24)
var containers = ['enroll', 'identify', 'watchlist', 'results', 'gallery', 'match-state', 'audit', 'azure-webjobs-hosts', 'deployments']
var queues = ['match-jobs', 'match-jobs-poison', 'webjobs-blobtrigger-poison']
// Built-in role definition ids (data-plane only; the app gets no control-plane role and cannot list keys).
var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // the Functions host keeps leases and receipts in azure-webjobs-hosts
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // match-jobs, poison queues
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // keyCustody 'secret' only: the Key Vault reference
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424' // wrapKey/unwrapKey, on the one key (not the vault)
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Application Insights with local auth off
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-voiceid-id'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // no account key and no SAS works: every caller is an Entra identity with a role
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    encryption: {
      services: { blob: { enabled: true }, queue: { enabled: true, keyType: 'Account' } }
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: blobSoftDeleteDays } // bounded: erasure is final after this
    containerDeleteRetentionPolicy: { enabled: true, days: blobSoftDeleteDays }
    isVersioningEnabled: false // versions would keep every overwritten shard, i.e. erased voiceprints, forever
    changeFeed: { enabled: false }
  }
}

resource containerRes 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in containers: {
  parent: blobService
  name: c
  properties: { publicAccess: 'None' }
}]

resource auditImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  name: '${storage.name}/default/audit/default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    allowProtectedAppendWrites: true // the audit log is append blobs: events are added, never changed
  }
  dependsOn: [containerRes]
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'probe-backstop'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['identify/', 'results/identify/'] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: probeBackstopDays } } }
          }
        }
      ]
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queueRes 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: vaultSku }
    enableRbacAuthorization: true
    enableSoftDelete: true // the vault holds the key-encryption key, not biometric data: losing it loses every voiceprint
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

// The voiceprint key-encryption key: wrapKey/unwrapKey only (it cannot encrypt, sign or be exported). Each blob
// records the key version that wrapped it, so a new version (rotation in the portal) leaves old blobs readable.
resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: 'voiceprint-kek'
  properties: {
    kty: (vaultSku == 'premium') ? 'RSA-HSM' : 'RSA'
    keySize: 3072
    keyOps: ['wrapKey', 'unwrapKey']
    attributes: { enabled: true, exportable: false }
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-voiceid-logs'
  location: location
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-voiceid-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true // telemetry is accepted only from Entra identities (the app's), not from the key alone
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.blobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.queueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource kekUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, identity.id, roles.keyVaultCryptoUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (keyCustody == 'secret') {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roles.blobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataOwner)
    principalId: operatorPrincipalId
  }
}

resource operatorQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roles.queueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    principalId: operatorPrincipalId
  }
}

resource operatorKek 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(kek.id, operatorPrincipalId, roles.keyVaultCryptoUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: operatorPrincipalId
  }
}

resource operatorSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId) && keyCustody == 'secret') {
  name: guid(vault.id, operatorPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: operatorPrincipalId
  }
}

var identitySettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
  // vaultKey: the key's id (not a secret); secret: a Key Vault reference to the in-memory key (older deployments)
  { name: 'VOICEID_VOICEPRINT_KEYS', value: (keyCustody == 'vaultKey') ? kek.properties.keyUri : '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=voiceprint-keys)' }
  { name: 'VOICEID_MODEL', value: 'ecapa' }
  { name: 'VOICEID_MODEL_SOURCE', value: 'speechbrain/spkrec-ecapa-voxceleb' }
  { name: 'VOICEID_DEVICE', value: 'cpu' }
]

resource premiumPlan 'Microsoft.Web/serverfarms@2023-12-01' = if (hosting == 'premium') {
  name: '${prefix}-plan'
  location: location
  sku: { name: planSku, tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: { reserved: true } // Linux
}

// Premium without an Azure Files content share (it would need an account key): the app runs from the package
// zip in the deployments container, read with the managed identity.
resource premiumApp 'Microsoft.Web/sites@2023-12-01' = if (hosting == 'premium') {
  name: '${prefix}-voiceid'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identity.id}': {} } }
  properties: {
    serverFarmId: premiumPlan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'Python|3.11'
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: concat(identitySettings, [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'python' }
        { name: 'VOICEID_MODEL_CACHE', value: '/home/voiceid/models' }
        { name: 'WEBSITE_RUN_FROM_PACKAGE', value: packageUrl }
        { name: 'WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID', value: identity.id }
      ])
    }
  }
}

resource flexPlan 'Microsoft.Web/serverfarms@2023-12-01' = if (hosting == 'flex') {
  name: '${prefix}-flex-plan'
  location: location
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  kind: 'functionapp'
  properties: { reserved: true }
}

resource flexApp 'Microsoft.Web/sites@2023-12-01' = if (hosting == 'flex') {
  name: '${prefix}-voiceid-flex'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identity.id}': {} } }
  properties: {
    serverFarmId: flexPlan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}deployments'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 4096 }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat(identitySettings, [
        { name: 'VOICEID_MODEL_CACHE', value: '/tmp/voiceid/models' }
      ])
    }
  }
}

output functionApp string = hosting == 'premium' ? premiumApp.name : flexApp.name
output storageAccount string = storage.name
output keyVault string = vault.name
output voiceprintKey string = kek.properties.keyUri
output identityClientId string = identity.properties.clientId

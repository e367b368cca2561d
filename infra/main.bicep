// voiceid on Azure: one storage account holding the storage contract, one Linux Function App (Python 3.11,
// v1 programming model). No secret is in this file: the storage connection string is built at deploy time.
// Least-privilege identity-based storage access replaces the connection string in the reliability work.
@description('Name prefix for every resource (3-11 lowercase letters or digits).')
@minLength(3)
@maxLength(11)
param prefix string
param location string = resourceGroup().location
@description('Elastic Premium keeps the model warm (no cold start) and allows the ~3 GB PyTorch install.')
param planSku string = 'EP1'

var storageName = '${prefix}${uniqueString(resourceGroup().id)}'
var containers = ['enroll', 'identify', 'results', 'gallery', 'match-state']
var queues = ['match-jobs', 'match-jobs-poison', 'webjobs-blobtrigger-poison']

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(storageName, 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    encryption: {
      services: { blob: { enabled: true }, queue: { enabled: true, keyType: 'Account' } }
      keySource: 'Microsoft.Storage'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: { deleteRetentionPolicy: { enabled: false } } // erasure must be real: no soft-deleted voiceprints
}

resource containerRes 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in containers: {
  parent: blobService
  name: c
  properties: { publicAccess: 'None' }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queueRes 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${prefix}-plan'
  location: location
  sku: { name: planSku, tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: { reserved: true } // Linux
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: '${prefix}-voiceid'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'Python|3.11'
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'python' }
        { name: 'AzureWebJobsStorage', value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}' }
        { name: 'VOICEID_MODEL', value: 'ecapa' }
        { name: 'VOICEID_MODEL_SOURCE', value: 'speechbrain/spkrec-ecapa-voxceleb' }
        { name: 'VOICEID_MODEL_CACHE', value: '/home/voiceid/models' }
        { name: 'VOICEID_DEVICE', value: 'cpu' }
      ]
    }
  }
}

output functionApp string = app.name
output storageAccount string = storage.name

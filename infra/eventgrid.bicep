// Flex Consumption only: Event Grid delivers "blob created" events of enroll/, identify/ and watchlist/ to the
// blob triggers (their function.json says "source": "EventGrid"; voiceid package --hosting flex writes them). Deploy this after
// the code is published (the blobs_extension system key exists only then); deploy.sh does both in order.

@description('The storage account main.bicep created (output storageAccount).')
param storageAccount string
@description('The Flex Consumption function app main.bicep created (output functionApp).')
param functionApp string
param location string = resourceGroup().location

var triggers = [
  { function: 'enroll_trigger', container: 'enroll' }
  { function: 'identify_trigger', container: 'identify' }
  { function: 'watchlist_trigger', container: 'watchlist' }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccount
}

resource app 'Microsoft.Web/sites@2023-12-01' existing = {
  name: functionApp
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${storageAccount}-blob-events'
  location: location
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [for t in triggers: {
  parent: topic
  name: '${t.function}-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The key is read at deployment time and stays in Azure: it is never written to this repository.
        endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${t.function}&code=${listKeys('${app.id}/host/default', '2023-12-01').systemKeys.blobs_extension}'
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${t.container}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}]

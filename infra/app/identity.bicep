// The one identity the app uses for everything: host storage, its own Table/Queue calls,
// the Flex deployment container, the Elastic Premium package blob and Application Insights.
// A user-assigned identity (rather than system-assigned) exists before the app does, so the
// role assignments can be in place by the time the host first starts.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId

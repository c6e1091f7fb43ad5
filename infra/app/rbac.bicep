// Every role assignment in one place. Names are guid(scope, principal, role) so a
// re-deployment finds the same assignment instead of creating a duplicate.

@description('Storage account the app and the Functions host use.')
param storageAccountName string

@description('Application Insights component the app reports to.')
param applicationInsightsName string

@description('Principal (object) id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Queue that agents may write progress messages to.')
param agentQueueName string

@description('Optional: principal (object) id of an agent allowed to put messages on the agent queue.')
param agentPrincipalId string = ''

@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param agentPrincipalType string = 'ServicePrincipal'

@description('Optional: principal (object) id of whoever uploads Elastic Premium packages to the deployment container.')
param deployerPrincipalId string = ''

@description('Deployment container; the deployer role is scoped to it.')
param deploymentContainerName string

// Built-in role definition ids (same in every tenant).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' // Storage Queue Data Message Sender
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
}

// What the app's identity needs on the storage account:
// - blobs: host keys, leases and the Flex deployment container (Owner, as the Functions docs ask for host storage)
// - queues: the AgentProgress trigger reads agent-progress and moves failures to -poison;
//   the app sends jobs to pipeline-jobs
// - tables: the runs ledger
var appStorageRoleIds = [
  roleIds.storageBlobDataOwner
  roleIds.storageQueueDataContributor
  roleIds.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource agentQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: agentQueueName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deploymentContainerName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in appStorageRoleIds: {
    name: guid(storage.id, appPrincipalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Lets the app (and the Functions host) send telemetry with Entra ID, since local auth is off.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roleIds.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// An agent may only add messages, and only to its own queue: not read or delete them, and
// nothing on pipeline-jobs or the tables.
resource agentQueueWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(agentPrincipalId)) {
  name: guid(agentQueue.id, agentPrincipalId, roleIds.storageQueueDataMessageSender)
  scope: agentQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageQueueDataMessageSender)
    principalId: agentPrincipalId
    principalType: agentPrincipalType
  }
}

// Elastic Premium runs from a package blob; whoever uploads it needs write access to that
// container (subscription Owner/Contributor alone grants no data access).
resource deployerPackageWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(deploymentContainer.id, deployerPrincipalId, roleIds.storageBlobDataContributor)
  scope: deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: deployerPrincipalId
  }
}

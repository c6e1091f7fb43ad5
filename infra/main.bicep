// Run Ledger: a .NET 10 isolated-worker Azure Functions app on Table and Queue Storage,
// reached by a user-assigned managed identity only.
// Subscription scope, like the azd templates: creates the resource group, then modules.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource. Flex Consumption is offered in fewer regions than Elastic Premium.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('FlexConsumption (FC1, default: scales to zero) or ElasticPremium (EP1: always-warm instances).')
@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
param planKind string = 'FlexConsumption'

// Optional names; empty means "derive from the environment".
param resourceGroupName string = ''
param functionAppName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param userAssignedIdentityName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''

@description('Base URL of the dashboard, used in links the app produces. Optional.')
param dashboardBaseUrl string = ''

@secure()
@description('Admin keys of the API, comma-separated (RunLedger__AdminKeys). Generate with: openssl rand -base64 32')
param adminKeys string

@secure()
@description('Secrets that derive project keys and sign read-only links, comma-separated, newest first (RunLedger__SigningSecrets).')
param signingSecrets string

@description('Optional: principal (object) id of an agent allowed to put messages on the agent-progress queue.')
param agentPrincipalId string = ''

@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param agentPrincipalType string = 'ServicePrincipal'

@description('Optional: principal (object) id of the person or pipeline that deploys (azd fills in the signed-in user). Only used for Elastic Premium, which needs the package uploaded to blob storage.')
param deployerPrincipalId string = ''

@description('Days after which final runs are deleted by the retention purge; 0 keeps every run.')
@minValue(0)
param retentionDays int = 0

@minValue(1)
@maxValue(1000)
param flexMaximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param flexInstanceMemoryMB int = 2048

@minValue(1)
@maxValue(100)
param premiumMaximumElasticWorkerCount int = 3

// Names the app reads; keep in step with the RunLedger__* settings below.
var tableName = 'runs'
var jobsQueueName = 'pipeline-jobs'
var progressQueueName = 'agent-progress'
var callbacksQueueName = 'run-callbacks'
var queueNames = [
  'pipeline-jobs'
  'pipeline-jobs-poison'
  'agent-progress'
  'agent-progress-poison'
  'run-callbacks'
  'run-callbacks-poison'
]

var deploymentContainerName = 'app-package'
var premiumPackageBlobName = 'runledger.zip'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(userAssignedIdentityName) ? userAssignedIdentityName : 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : 'st${resourceToken}'
    location: location
    tags: tags
    tableNames: [
      tableName
    ]
    queueNames: queueNames
    deploymentContainerName: deploymentContainerName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : 'log-${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    agentQueueName: progressQueueName
    agentPrincipalId: agentPrincipalId
    agentPrincipalType: agentPrincipalType
    deployerPrincipalId: planKind == 'ElasticPremium' ? deployerPrincipalId : ''
    deploymentContainerName: deploymentContainerName
  }
}

module api 'app/function-app.bicep' = {
  name: 'api'
  scope: rg
  // Roles first, so the host's first start can already reach storage.
  dependsOn: [
    rbac
  ]
  params: {
    name: !empty(functionAppName) ? functionAppName : 'func-api-${resourceToken}'
    location: location
    tags: tags
    planKind: planKind
    planName: !empty(appServicePlanName) ? appServicePlanName : 'plan-${resourceToken}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    premiumPackageBlobName: premiumPackageBlobName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    runLedgerSettings: {
      RunLedger__TableName: tableName
      RunLedger__JobsQueue: jobsQueueName
      // Required, not just a default: the AgentProgress trigger's queue is %RunLedger__ProgressQueue%.
      RunLedger__ProgressQueue: progressQueueName
      // Required too: the DeliverCallback trigger's queue is %RunLedger__CallbacksQueue%.
      RunLedger__CallbacksQueue: callbacksQueueName
      // Completion callbacks: 10 s per attempt, back-off from 30 s doubling to 1 h, 30 attempts (about 23 h).
      RunLedger__CallbackTimeout: '00:00:10'
      RunLedger__CallbackRetryDelay: '00:00:30'
      RunLedger__CallbackMaxRetryDelay: '01:00:00'
      RunLedger__CallbackMaxAttempts: '30'
      RunLedger__DashboardBaseUrl: dashboardBaseUrl
      // The table and queues are created above; skip the app's create-if-missing calls on every (cold) start.
      RunLedger__CreateStorageOnStart: 'false'
      // Required, not just defaults: the timers' schedules are %RunLedger__StaleSweepSchedule% and
      // %RunLedger__RetentionSchedule%, resolved by the host (six-field CRON, UTC on Linux).
      RunLedger__StaleSweepSchedule: '0 */5 * * * *'
      RunLedger__RetentionSchedule: '0 30 3 * * *'
      RunLedger__RetentionDays: string(retentionDays)
    }
    adminKeys: adminKeys
    signingSecrets: signingSecrets
    flexMaximumInstanceCount: flexMaximumInstanceCount
    flexInstanceMemoryMB: flexInstanceMemoryMB
    premiumMaximumElasticWorkerCount: premiumMaximumElasticWorkerCount
  }
}

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name

output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.url

output FUNCTION_APP_NAME string = api.outputs.name
output FUNCTION_APP_URL string = api.outputs.url
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output PLAN_KIND string = planKind
output DEPLOYMENT_CONTAINER_URL string = storage.outputs.deploymentContainerUrl
output PREMIUM_PACKAGE_BLOB_NAME string = premiumPackageBlobName
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString

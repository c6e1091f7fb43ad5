// The hosting plan and the function app: a .NET 10 isolated-worker app (the host starts
// `dotnet RunLedger.dll` from the deployed package and talks to it over gRPC).
//
// planKind picks one of two shapes:
// - FlexConsumption (FC1): runtime and deployment storage live in functionAppConfig;
//   FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must not be app settings.
// - ElasticPremium (EP1, Linux): the classic settings (FUNCTIONS_EXTENSION_VERSION,
//   FUNCTIONS_WORKER_RUNTIME) and linuxFxVersion. With shared keys disabled there is no Azure
//   Files content share, so the app runs from a package blob read with the user-assigned identity.

param name string
param location string
param tags object = {}

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
param planKind string

param planName string

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

param storageAccountName string
param deploymentContainerName string

@description('Blob name of the Elastic Premium run-from-package zip inside the deployment container.')
param premiumPackageBlobName string

param applicationInsightsConnectionString string

@description('App settings specific to Run Ledger (RunLedger__*).')
param runLedgerSettings object

@secure()
@description('RunLedger__AdminKeys: the admin keys of the API (the app checks credentials itself; every function is anonymous to the host).')
param adminKeys string

@secure()
@description('RunLedger__SigningSecrets: derive project keys and sign read-only dashboard links.')
param signingSecrets string

@description('Flex: most instances the app may scale out to.')
@minValue(1)
@maxValue(1000)
param flexMaximumInstanceCount int

@description('Flex: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param flexInstanceMemoryMB int

@description('Elastic Premium: most workers the plan may scale out to.')
@minValue(1)
@maxValue(100)
param premiumMaximumElasticWorkerCount int

var isFlex = planKind == 'FlexConsumption'

// .NET version of the isolated worker (the app targets net10.0). Flex wants exactly '10.0':
// ARM also accepts '10', but the app then fails to start.
var dotnetVersion = '10.0'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var deploymentContainerUrl = '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex
    ? {
        name: 'FC1'
        tier: 'FlexConsumption'
      }
    : {
        name: 'EP1'
        tier: 'ElasticPremium'
      }
  properties: isFlex
    ? {
        reserved: true // Linux
      }
    : {
        reserved: true // Linux
        maximumElasticWorkerCount: premiumMaximumElasticWorkerCount
      }
}

// Settings every plan gets. Host storage is reached by identity: the service URIs plus
// credential/clientId; the app reads the same settings for its own Table/Queue clients.
var commonSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
}

var premiumSettings = {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
  WEBSITE_RUN_FROM_PACKAGE: '${deploymentContainerUrl}/${premiumPackageBlobName}'
  WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identityId
}

var accessSettings = {
  RunLedger__AdminKeys: adminKeys
  RunLedger__SigningSecrets: signingSecrets
}

var appSettings = union(commonSettings, runLedgerSettings, accessSettings, isFlex ? {} : premiumSettings)

var appSettingsList = map(items(appSettings), setting => {
  name: setting.key
  value: setting.value
})

// Each plan's site properties written out in full, typed against the resource schema so a
// misspelt property is a compile-time warning rather than a silent no-op.
type siteProperties = resourceInput<'Microsoft.Web/sites@2024-04-01'>.properties

var flexSiteProperties siteProperties = {
  serverFarmId: plan.id
  reserved: true
  httpsOnly: true
  siteConfig: {
    minTlsVersion: '1.2'
    ftpsState: 'Disabled'
    http20Enabled: true
    appSettings: appSettingsList
  }
  functionAppConfig: {
    deployment: {
      storage: {
        type: 'blobContainer'
        value: deploymentContainerUrl
        authentication: {
          type: 'UserAssignedIdentity'
          userAssignedIdentityResourceId: identityId
        }
      }
    }
    runtime: {
      name: 'dotnet-isolated'
      version: dotnetVersion
    }
    scaleAndConcurrency: {
      maximumInstanceCount: flexMaximumInstanceCount
      instanceMemoryMB: flexInstanceMemoryMB
    }
  }
}

var premiumSiteProperties siteProperties = {
  serverFarmId: plan.id
  reserved: true
  httpsOnly: true
  siteConfig: {
    linuxFxVersion: 'DOTNET-ISOLATED|${dotnetVersion}'
    use32BitWorkerProcess: false
    alwaysOn: false
    minTlsVersion: '1.2'
    ftpsState: 'Disabled'
    http20Enabled: true
    appSettings: appSettingsList
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: isFlex ? flexSiteProperties : premiumSiteProperties
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
output url string = 'https://${functionApp.properties.defaultHostName}'
output planName string = plan.name

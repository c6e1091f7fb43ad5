using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;

namespace RunLedger.Ledger;

/// <summary>
/// Where the storage account is and how to reach it, read from the <c>AzureWebJobsStorage</c>
/// settings the way the Functions host reads them: the setting itself as a connection string, or
/// the identity-based settings under it (<c>__accountName</c>, <c>__tableServiceUri</c>,
/// <c>__queueServiceUri</c>, <c>__credential</c>, <c>__clientId</c>).
/// </summary>
public sealed class StorageConnection
{
    private StorageConnection(string? connectionString, Uri? tableServiceUri, Uri? queueServiceUri, TokenCredential? credential)
    {
        ConnectionString = connectionString;
        TableServiceUri = tableServiceUri;
        QueueServiceUri = queueServiceUri;
        Credential = credential;
    }

    /// <summary>Set for the connection-string form; the SDKs parse it (development storage included).</summary>
    public string? ConnectionString { get; }

    /// <summary>Set for the identity-based form.</summary>
    public Uri? TableServiceUri { get; }

    /// <summary>Set for the identity-based form.</summary>
    public Uri? QueueServiceUri { get; }

    /// <summary>The Entra ID credential of the identity-based form.</summary>
    public TokenCredential? Credential { get; }

    public static StorageConnection FromConfiguration(IConfiguration configuration, string name = "AzureWebJobsStorage")
    {
        var connectionString = configuration[name];
        if (string.IsNullOrWhiteSpace(connectionString)) connectionString = configuration.GetConnectionString(name);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            // Fail at start-up, not at the first request. The SDK's own message may quote the
            // string (and with it the key), so it is not passed on.
            try
            {
                _ = new TableServiceClient(connectionString);
                _ = new QueueServiceClient(connectionString);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"Setting '{name}' is not a usable storage connection string: it needs AccountName and AccountKey " +
                    "(or explicit endpoints, or UseDevelopmentStorage=true).");
            }
            return new StorageConnection(connectionString.Trim(), null, null, null);
        }

        var section = configuration.GetSection(name);
        var accountName = NullIfEmpty(section["accountName"]);
        var tableUri = Endpoint(section["tableServiceUri"], $"{name}__tableServiceUri")
            ?? (accountName is null ? null : new Uri($"https://{accountName}.table.core.windows.net"));
        var queueUri = Endpoint(section["queueServiceUri"], $"{name}__queueServiceUri")
            ?? (accountName is null ? null : new Uri($"https://{accountName}.queue.core.windows.net"));
        if (tableUri is null || queueUri is null)
        {
            throw new InvalidOperationException(
                $"No storage account is configured: set '{name}' to a connection string, or set '{name}__accountName' " +
                $"(or both '{name}__tableServiceUri' and '{name}__queueServiceUri') for identity-based access.");
        }
        return new StorageConnection(null, tableUri, queueUri, CreateCredential(section["credential"], NullIfEmpty(section["clientId"])));
    }

    public TableServiceClient CreateTableServiceClient(TableClientOptions options) =>
        ConnectionString is not null
            ? new TableServiceClient(ConnectionString, options)
            : new TableServiceClient(TableServiceUri!, Credential!, options);

    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions options) =>
        ConnectionString is not null
            ? new QueueServiceClient(ConnectionString, options)
            : new QueueServiceClient(QueueServiceUri!, Credential!, options);

    /// <summary>
    /// <c>credential=managedidentity</c> (with <c>clientId</c> for a user-assigned identity) as the
    /// Functions host reads it; otherwise <see cref="DefaultAzureCredential"/>, which also covers
    /// a developer's Azure CLI sign-in.
    /// </summary>
    private static TokenCredential CreateCredential(string? credential, string? clientId)
    {
        if (string.Equals(credential, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return new ManagedIdentityCredential(clientId is null
                ? ManagedIdentityId.SystemAssigned
                : ManagedIdentityId.FromUserAssignedClientId(clientId));
        }
        return clientId is null
            ? new DefaultAzureCredential()
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }

    private static Uri? Endpoint(string? setting, string settingName)
    {
        if (NullIfEmpty(setting) is not { } value) return null;
        if (!Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"Setting '{settingName}' is not an absolute http(s) URI.");
        }
        return uri;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

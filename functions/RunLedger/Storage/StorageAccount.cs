using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace RunLedger.Storage;

/// <summary>
/// Where the storage account is and how to authenticate: a shared key from a connection string,
/// or an Entra ID credential from identity-based settings (the Functions host's conventions).
/// </summary>
public sealed class StorageAccount
{
    private const string TokenScope = "https://storage.azure.com/.default";
    private const string DevelopmentAccountName = "devstoreaccount1";

    // Azurite's well-known development key (published in its README), not a secret.
    private const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly byte[]? _accountKey;
    private readonly TokenCredential? _credential;

    private StorageAccount(Uri tableEndpoint, Uri queueEndpoint, string? accountName, byte[]? accountKey, TokenCredential? credential)
    {
        TableEndpoint = tableEndpoint;
        QueueEndpoint = queueEndpoint;
        AccountName = accountName;
        _accountKey = accountKey;
        _credential = credential;
    }

    public Uri TableEndpoint { get; }

    public Uri QueueEndpoint { get; }

    public string? AccountName { get; }

    /// <summary>True when requests carry Entra ID bearer tokens rather than shared-key signatures.</summary>
    public bool UsesTokenCredential => _credential is not null;

    /// <summary>
    /// Reads <c>config[name]</c> as a connection string, else the identity-based settings
    /// <c>{name}:accountName</c>, <c>:tableServiceUri</c>, <c>:queueServiceUri</c>, <c>:credential</c>, <c>:clientId</c>
    /// (environment variables spell the separator <c>__</c>).
    /// </summary>
    public static StorageAccount FromConfiguration(IConfiguration configuration, string name = "AzureWebJobsStorage")
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[name];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = configuration.GetConnectionString(name);
        }

        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                return Parse(connectionString);
            }
            catch (FormatException ex)
            {
                // Parse's messages never quote the connection string, so this is safe to surface.
                throw new InvalidOperationException($"Setting '{name}' is not a usable storage connection string: {ex.Message}", ex);
            }
        }

        var section = configuration.GetSection(name);
        var accountName = NullIfEmpty(section["accountName"]);
        var tableUri = NullIfEmpty(section["tableServiceUri"]);
        var queueUri = NullIfEmpty(section["queueServiceUri"]);
        if (accountName is null && (tableUri is null || queueUri is null))
        {
            throw new InvalidOperationException(
                $"No storage account is configured: set '{name}' to a connection string, or set '{name}__accountName' " +
                $"(or both '{name}__tableServiceUri' and '{name}__queueServiceUri') for identity-based access.");
        }

        try
        {
            var table = tableUri is not null ? Endpoint(tableUri, "tableServiceUri") : new Uri($"https://{accountName}.table.core.windows.net");
            var queue = queueUri is not null ? Endpoint(queueUri, "queueServiceUri") : new Uri($"https://{accountName}.queue.core.windows.net");
            return new StorageAccount(table, queue, accountName, null, CreateCredential(section["credential"], NullIfEmpty(section["clientId"])));
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"Identity-based settings under '{name}' are not usable: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Parses <c>UseDevelopmentStorage=true</c> or an account-key connection string
    /// (DefaultEndpointsProtocol, AccountName, AccountKey, EndpointSuffix, optional TableEndpoint/QueueEndpoint).
    /// Throws <see cref="FormatException"/> whose message never repeats the string (it holds a key).
    /// </summary>
    public static StorageAccount Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Split at the first '=': base64 keys end with '=' padding.
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException("A connection string segment is not of the form Name=Value.");
            }

            settings[segment[..equals].Trim()] = segment[(equals + 1)..].Trim();
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out var useDev) && useDev)
        {
            return new StorageAccount(
                new Uri($"http://127.0.0.1:10002/{DevelopmentAccountName}"),
                new Uri($"http://127.0.0.1:10001/{DevelopmentAccountName}"),
                DevelopmentAccountName,
                Convert.FromBase64String(DevelopmentAccountKey),
                null);
        }

        if (settings.ContainsKey("SharedAccessSignature"))
        {
            throw new FormatException("SharedAccessSignature connection strings are not supported; use an account key or identity-based settings.");
        }

        var accountName = settings.GetValueOrDefault("AccountName");
        var accountKey = settings.GetValueOrDefault("AccountKey");
        if (string.IsNullOrEmpty(accountName) || string.IsNullOrEmpty(accountKey))
        {
            throw new FormatException("The connection string needs AccountName and AccountKey (or UseDevelopmentStorage=true).");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(accountKey);
        }
        catch (FormatException)
        {
            throw new FormatException("AccountKey is not valid base64.");
        }

        var protocol = settings.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https";
        if (protocol is not ("http" or "https"))
        {
            throw new FormatException("DefaultEndpointsProtocol must be http or https.");
        }

        var suffix = settings.GetValueOrDefault("EndpointSuffix") ?? "core.windows.net";
        var table = settings.TryGetValue("TableEndpoint", out var t) ? Endpoint(t, "TableEndpoint") : Endpoint($"{protocol}://{accountName}.table.{suffix}", "EndpointSuffix");
        var queue = settings.TryGetValue("QueueEndpoint", out var q) ? Endpoint(q, "QueueEndpoint") : Endpoint($"{protocol}://{accountName}.queue.{suffix}", "EndpointSuffix");
        return new StorageAccount(table, queue, accountName, key, null);
    }

    public TableServiceClient CreateTableServiceClient(StorageClientOptions? options = null) =>
        new(new StorageService(BuildPipeline(options, TableAuthPolicy()), TableEndpoint, "Table"));

    public QueueServiceClient CreateQueueServiceClient(StorageClientOptions? options = null) =>
        new(new StorageService(BuildPipeline(options, QueueAuthPolicy()), QueueEndpoint, "Queue"));

    private HttpPipelinePolicy TableAuthPolicy() => _accountKey is not null
        ? new TableSharedKeyLitePolicy(AccountName!, _accountKey)
        : new BearerTokenAuthenticationPolicy(_credential!, TokenScope);

    private HttpPipelinePolicy QueueAuthPolicy() => _accountKey is not null
        ? new QueueSharedKeyPolicy(AccountName!, _accountKey)
        : new BearerTokenAuthenticationPolicy(_credential!, TokenScope);

    // The date policy runs before the auth policy on every retry: signatures cover x-ms-date.
    private static HttpPipeline BuildPipeline(StorageClientOptions? options, HttpPipelinePolicy auth) =>
        HttpPipelineBuilder.Build(options ?? new StorageClientOptions(), new StorageDatePolicy(), auth);

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

    private static Uri Endpoint(string value, string settingName)
    {
        if (!Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"{settingName} does not give an absolute http(s) endpoint.");
        }

        return uri;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Queues;
using FunctionsHost.Configuration;

namespace FunctionsHost.Queues;

/// <summary>
/// Storage clients from a trigger's <c>connection</c> setting, as the Storage extension reads it:
/// a connection string in <c>{conn}</c> (or <c>AzureWebJobs{conn}</c>), or identity-based
/// settings <c>{conn}__queueServiceUri</c> / <c>{conn}__accountName</c> with
/// <c>{conn}__credential=managedidentity</c> and <c>{conn}__clientId</c>.
/// </summary>
public sealed class QueueServiceFactory(AppSettings settings)
{
    private readonly ConcurrentDictionary<string, QueueServiceClient> clients = new(StringComparer.OrdinalIgnoreCase);

    public QueueClient GetQueue(string connection, string queueName) =>
        clients.GetOrAdd(connection, Create).GetQueueClient(queueName);

    private QueueServiceClient Create(string connection)
    {
        // We decode base64 ourselves, so an undecodable message can go to poison untouched.
        // Few, quick SDK retries: during an outage the listener's own back-off paces the polls
        // (the SDK's default would hold each failed poll for about half a minute).
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        var connectionString = settings[connection] ?? settings["AzureWebJobs" + connection];
        if (connectionString is not null)
        {
            return new QueueServiceClient(connectionString, options);
        }
        var serviceUri = settings[connection + "__queueServiceUri"]
            ?? (settings[connection + "__accountName"] is { } account ? $"https://{account}.queue.core.windows.net" : null)
            ?? throw new InvalidOperationException(
                $"Storage connection '{connection}' is not configured: set '{connection}' to a connection string, " +
                $"or '{connection}__queueServiceUri' / '{connection}__accountName' for identity-based access.");
        return new QueueServiceClient(new Uri(serviceUri), Credential(connection), options);
    }

    private TokenCredential Credential(string connection)
    {
        var clientId = settings[connection + "__clientId"];
        if (string.Equals(settings[connection + "__credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return clientId is null
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }
}

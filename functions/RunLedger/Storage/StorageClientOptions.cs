using Azure.Core;

namespace RunLedger.Storage;

/// <summary>
/// Pipeline options for the storage clients. Derives from Azure.Core's <see cref="ClientOptions"/>
/// so callers can add policies (e.g. a request counter in tests) and tune retries and transport.
/// </summary>
public sealed class StorageClientOptions : ClientOptions
{
    public StorageClientOptions()
    {
        // Exponential back-off with a short first delay: storage throttling (503/500) clears quickly,
        // and a queue listener should not stall for long on a transient error.
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 5;
        Retry.Delay = TimeSpan.FromMilliseconds(400);
        Retry.MaxDelay = TimeSpan.FromSeconds(10);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(60);
    }
}

using Microsoft.Extensions.Logging;

namespace FunctionsHost;

/// <summary>What the host runs and how: the worker's output folder, host.json, app settings, ports.</summary>
public sealed record FunctionsHostOptions
{
    /// <summary>The worker's build or publish folder (holds worker.config.json and the app's dll).</summary>
    public required string AppDirectory { get; init; }

    /// <summary>host.json; defaults to the one in <see cref="AppDirectory"/>.</summary>
    public string? HostJsonPath { get; init; }

    /// <summary>A local.settings.json whose <c>Values</c> become app settings (the environment wins over it).</summary>
    public string? SettingsPath { get; init; }

    /// <summary>Settings that win over both local.settings.json and the environment (tests use these).</summary>
    public IDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The HTTP port; 0 picks a free one.</summary>
    public int Port { get; init; } = 7071;

    /// <summary>Extra logging set-up, e.g. a test's log capture.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>
    /// How long a queue message stays hidden while its function runs, renewed every third of it.
    /// The host's is 10 minutes; tests shorten it to see the renewal work.
    /// </summary>
    public TimeSpan QueueMessageLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest wait for a started worker to connect and load its functions.</summary>
    public TimeSpan WorkerStartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

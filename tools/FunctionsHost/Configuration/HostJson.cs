using System.Globalization;
using System.Text.Json.Nodes;
using PollingDelay = FunctionsHost.Queues.PollingDelay;

namespace FunctionsHost.Configuration;

/// <summary>The parts of host.json this host honours: the HTTP route prefix and the queue settings.</summary>
public sealed record HostJson(string RoutePrefix, QueuesOptions Queues)
{
    /// <summary>
    /// <c>extensions.http.customHeaders</c>: added to every HTTP response that does not already carry them
    /// (azure-functions-host src/WebJobs.Script.WebHost/Middleware/CustomHttpHeadersMiddleware.cs).
    /// </summary>
    public IReadOnlyDictionary<string, string> CustomHeaders { get; init; } = new Dictionary<string, string>();

    public static HostJson Load(string? path)
    {
        var root = path is not null && File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
        var extensions = root?["extensions"];
        var http = extensions?["http"];
        var queues = extensions?["queues"];
        var prefix = http?["routePrefix"]?.GetValue<string>() ?? "api";
        return new HostJson(prefix.Trim('/'), QueueOptions(queues))
        {
            CustomHeaders = http?["customHeaders"] is JsonObject headers
                ? headers.ToDictionary(h => h.Key, h => h.Value?.GetValue<string>() ?? "", StringComparer.OrdinalIgnoreCase)
                : new Dictionary<string, string>(),
        };
    }

    /// <summary>
    /// <c>extensions.queues</c> with the Storage Queues extension's defaults and its limits: a value
    /// the extension's QueuesOptions rejects stops the host from starting here too.
    /// </summary>
    private static QueuesOptions QueueOptions(JsonNode? queues)
    {
        var batchSize = Int(queues, "batchSize") ?? 16;
        Require(batchSize is >= 1 and <= 32, "batchSize", batchSize, "must be between 1 and 32");
        var newBatchThreshold = Int(queues, "newBatchThreshold");
        Require(newBatchThreshold is null or >= 0, "newBatchThreshold", newBatchThreshold, "must not be negative");
        var maxPollingInterval = Time(queues, "maxPollingInterval") ?? TimeSpan.FromMinutes(1);
        Require(maxPollingInterval >= PollingDelay.Minimum, "maxPollingInterval", maxPollingInterval, "must not be less than 00:00:00.1");
        var maxDequeueCount = Int(queues, "maxDequeueCount") ?? 5;
        Require(maxDequeueCount >= 1, "maxDequeueCount", maxDequeueCount, "must not be less than 1");
        var encoding = queues?["messageEncoding"]?.GetValue<string>() ?? "base64";
        Require(encoding.Equals("base64", StringComparison.OrdinalIgnoreCase) || encoding.Equals("none", StringComparison.OrdinalIgnoreCase),
            "messageEncoding", encoding, "must be base64 or none");
        return new QueuesOptions
        {
            BatchSize = batchSize,
            // The extension's default: half a batch per processor (one processor on a Consumption plan).
            NewBatchThreshold = newBatchThreshold ?? batchSize / 2 * ProcessorCount,
            MaxPollingInterval = maxPollingInterval,
            VisibilityTimeout = Time(queues, "visibilityTimeout") ?? TimeSpan.Zero,
            MaxDequeueCount = maxDequeueCount,
            Base64 = encoding.Equals("base64", StringComparison.OrdinalIgnoreCase),
        };
    }

    private static int ProcessorCount =>
        string.Equals(Environment.GetEnvironmentVariable("WEBSITE_SKU"), "Dynamic", StringComparison.OrdinalIgnoreCase) ? 1 : Environment.ProcessorCount;

    private static void Require(bool valid, string name, object? value, string rule)
    {
        if (!valid)
        {
            throw new InvalidOperationException($"host.json extensions.queues.{name} = {value}: {rule} (as the Storage Queues extension requires).");
        }
    }

    private static int? Int(JsonNode? node, string name) => node?[name] is { } value
        ? value.GetValueKind() == System.Text.Json.JsonValueKind.String
            ? int.Parse(value.GetValue<string>(), CultureInfo.InvariantCulture)
            : value.GetValue<int>()
        : null;

    private static TimeSpan? Time(JsonNode? node, string name) =>
        node?[name] is { } value ? TimeSpan.Parse(value.GetValue<string>(), CultureInfo.InvariantCulture) : null;
}

/// <summary>host.json <c>extensions.queues</c>, with the Storage extension's defaults.</summary>
public sealed record QueuesOptions
{
    public int BatchSize { get; init; } = 16;
    public int NewBatchThreshold { get; init; } = 8;
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; init; } = 5;
    public bool Base64 { get; init; } = true;
}

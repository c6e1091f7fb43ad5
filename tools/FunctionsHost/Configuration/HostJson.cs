using System.Globalization;
using System.Text.Json.Nodes;

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
        var batchSize = Math.Clamp(Int(queues, "batchSize") ?? 16, 1, 32);
        return new HostJson(
            prefix.Trim('/'),
            new QueuesOptions
            {
                BatchSize = batchSize,
                // The extension's default: half a batch per processor before fetching more.
                NewBatchThreshold = Int(queues, "newBatchThreshold") ?? batchSize / 2 * Environment.ProcessorCount,
                MaxPollingInterval = Time(queues, "maxPollingInterval") ?? TimeSpan.FromMinutes(1),
                VisibilityTimeout = Time(queues, "visibilityTimeout") ?? TimeSpan.Zero,
                MaxDequeueCount = Int(queues, "maxDequeueCount") ?? 5,
                Base64 = !string.Equals(queues?["messageEncoding"]?.GetValue<string>(), "none", StringComparison.OrdinalIgnoreCase),
            })
        {
            CustomHeaders = http?["customHeaders"] is JsonObject headers
                ? headers.ToDictionary(h => h.Key, h => h.Value?.GetValue<string>() ?? "", StringComparer.OrdinalIgnoreCase)
                : new Dictionary<string, string>(),
        };
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

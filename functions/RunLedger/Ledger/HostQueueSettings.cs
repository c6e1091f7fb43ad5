using System.Text.Json.Nodes;

namespace RunLedger.Ledger;

/// <summary>
/// The queue trigger's settings the ledger needs to know itself, read from the host.json the
/// host runs the app with (it ships beside the app): after <see cref="MaxDequeueCount"/> tries the
/// host moves a message to the poison queue, and the ledger records why just before.
/// </summary>
public sealed class HostQueueSettings
{
    public const int DefaultMaxDequeueCount = 5;

    public int MaxDequeueCount { get; init; } = DefaultMaxDequeueCount;

    public static HostQueueSettings Load(string hostJsonPath)
    {
        if (!File.Exists(hostJsonPath)) return new();
        var count = JsonNode.Parse(File.ReadAllText(hostJsonPath))?["extensions"]?["queues"]?["maxDequeueCount"];
        return count is JsonValue v && v.TryGetValue(out int n) && n > 0 ? new() { MaxDequeueCount = n } : new();
    }
}

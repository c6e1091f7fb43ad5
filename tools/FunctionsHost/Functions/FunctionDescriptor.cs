using FunctionsHost.Rpc;

namespace FunctionsHost.Functions;

public enum TriggerKind
{
    Http,
    Queue,
    Timer,
    Other,
}

/// <summary>A function the worker reported, with its trigger's settings resolved from app settings.</summary>
public sealed record FunctionDescriptor(
    string Name,
    string FunctionId,
    RpcFunctionMetadata Metadata,
    TriggerKind Trigger,
    string TriggerType,
    string TriggerParameter)
{
    public string? Route { get; init; }
    public IReadOnlyList<string>? Methods { get; init; }
    public string AuthLevel { get; init; } = "function";
    public string? QueueName { get; init; }
    public string Connection { get; init; } = "AzureWebJobsStorage";
    public string? Schedule { get; init; }
    public bool RunOnStartup { get; init; }
    /// <summary>A timer's <c>useMonitor</c>, when the function sets it.</summary>
    public bool? UseMonitor { get; init; }
}

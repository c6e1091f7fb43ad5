using System.Text;
using System.Text.Json.Nodes;
using FunctionsHost.Configuration;
using FunctionsHost.Rpc;

namespace FunctionsHost.Functions;

/// <summary>Turns the worker's function metadata into descriptors and prints them as Core Tools do.</summary>
public static class FunctionCatalog
{
    public static IReadOnlyList<FunctionDescriptor> Build(IEnumerable<RpcFunctionMetadata> metadata, AppSettings settings) =>
        metadata.Select(m => Describe(m, settings)).OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ToList();

    private static FunctionDescriptor Describe(RpcFunctionMetadata metadata, AppSettings settings)
    {
        var bindings = metadata.RawBindings.Select(raw => JsonNode.Parse(raw)!.AsObject()).ToList();
        var trigger = bindings.FirstOrDefault(b => Text(b, "type")?.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) == true)
            ?? throw new InvalidOperationException($"Function '{metadata.Name}' has no trigger binding.");
        var type = Text(trigger, "type")!;
        var id = string.IsNullOrEmpty(metadata.FunctionId) ? Guid.NewGuid().ToString() : metadata.FunctionId;
        var kind = type.ToLowerInvariant() switch
        {
            "httptrigger" => TriggerKind.Http,
            "queuetrigger" => TriggerKind.Queue,
            "timertrigger" => TriggerKind.Timer,
            _ => TriggerKind.Other,
        };
        string? Resolved(string name) => Text(trigger, name) is { } value ? settings.Resolve(value) : null;
        return new FunctionDescriptor(metadata.Name, id, metadata, kind, type, Text(trigger, "name") ?? "trigger")
        {
            Route = Resolved("route") ?? metadata.Name,
            Methods = trigger["methods"] is JsonArray methods
                ? methods.Select(m => m!.GetValue<string>().ToUpperInvariant()).ToList()
                : null,
            AuthLevel = Text(trigger, "authLevel")?.ToLowerInvariant() ?? "function",
            QueueName = Resolved("queueName")?.ToLowerInvariant(),
            Connection = Resolved("connection") is { Length: > 0 } connection ? connection : "AzureWebJobsStorage",
            Schedule = Resolved("schedule"),
            RunOnStartup = trigger["runOnStartup"]?.GetValue<bool>() ?? false,
            UseMonitor = trigger["useMonitor"]?.GetValue<bool>(),
        };
    }

    private static string? Text(JsonObject binding, string name) =>
        binding.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.GetValue<string>();

    /// <summary>The function table Core Tools print at start-up: name, then the URL, queue or schedule.</summary>
    public static string Format(IEnumerable<FunctionDescriptor> functions, Uri baseAddress, string routePrefix)
    {
        var text = new StringBuilder("Functions:").AppendLine().AppendLine();
        foreach (var f in functions)
        {
            var detail = f.Trigger switch
            {
                TriggerKind.Http => $"[{string.Join(',', f.Methods ?? ["ALL"])}] {new Uri(baseAddress, Path(routePrefix, f.Route!))}",
                TriggerKind.Queue => $"queueTrigger (queue {f.QueueName}, connection {f.Connection})",
                TriggerKind.Timer => $"timerTrigger (schedule {f.Schedule}{(f.RunOnStartup ? ", runs on startup" : "")})",
                _ => $"{f.TriggerType} (not run by this host; /admin/functions/{f.Name} invokes it)",
            };
            text.Append('\t').Append(f.Name).Append(": ").AppendLine(detail).AppendLine();
        }
        return text.ToString();
    }

    internal static string Path(string routePrefix, string route) =>
        routePrefix.Length == 0 ? route.Trim('/') : routePrefix + "/" + route.Trim('/');
}

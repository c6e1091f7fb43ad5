using System.Collections;
using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace RunLedger.Telemetry;

/// <summary>
/// Puts the invocation's <c>projectId</c> and <c>runId</c> (route values of HTTP functions), when
/// present, into a logging scope and onto the current trace span, so every log line and span of
/// the invocation can be found by run. Runs outside the problem middleware, so failures are
/// logged inside the scope.
/// </summary>
public sealed class RunScopeMiddleware(ILogger<RunScopeMiddleware> logger) : IFunctionsWorkerMiddleware
{
    /// <summary>Binding values copied into the scope (same name) and onto the span (tag).</summary>
    public static readonly IReadOnlyList<(string Name, string Tag)> Scoped =
        [("projectId", "runledger.project_id"), ("runId", "runledger.run_id")];

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        List<KeyValuePair<string, object?>>? values = null;
        foreach (var (name, tag) in Scoped)
        {
            if (Value(context, name) is { Length: > 0 } text)
            {
                (values ??= []).Add(new(name, text));
                Activity.Current?.SetTag(tag, text);
            }
        }

        if (values is null)
        {
            await next(context);
            return;
        }

        using (logger.BeginScope(new RunScope(values)))
        {
            await next(context);
        }
    }

    /// <summary>An HTTP function's value comes from its route only (<see cref="Http.RouteValues"/>); a queue function's from its binding data.</summary>
    private static string? Value(FunctionContext context, string name) =>
        Http.RouteValues.IsHttpFunction(context.FunctionDefinition.Name)
            ? Http.RouteValues.Get(context, name)
            : context.BindingContext.BindingData.TryGetValue(name, out var value) ? value as string : null;

    /// <summary>Structured for exporters (key/value pairs), readable on the console (<c>projectId:p1 runId:RUN_…</c>).</summary>
    public sealed class RunScope(List<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => values[index];

        public int Count => values.Count;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => string.Join(' ', values.Select(pair => $"{pair.Key}:{pair.Value}"));
    }
}

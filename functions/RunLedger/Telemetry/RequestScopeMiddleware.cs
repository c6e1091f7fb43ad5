using System.Collections;
using System.Diagnostics;

namespace RunLedger.Telemetry;

/// <summary>
/// Puts the request's <c>projectId</c> and <c>runId</c> route values, when present, into a logging
/// scope and onto the current trace span, so every log line and span of the request can be
/// found by run. Runs before the exception handler, so failures are logged inside the scope.
/// </summary>
public sealed class RequestScopeMiddleware(RequestDelegate next, ILogger<RequestScopeMiddleware> logger)
{
    /// <summary>Route values copied into the scope (same name) and onto the span (tag).</summary>
    public static readonly IReadOnlyList<(string RouteValue, string Tag)> Scoped =
        [("projectId", "runledger.project_id"), ("runId", "runledger.run_id")];

    public async Task InvokeAsync(HttpContext context)
    {
        List<KeyValuePair<string, object?>>? values = null;
        foreach (var (name, tag) in Scoped)
        {
            if (context.GetRouteValue(name) is string { Length: > 0 } value)
            {
                (values ??= []).Add(new(name, value));
                Activity.Current?.SetTag(tag, value);
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

    /// <summary>Structured for exporters (key/value pairs), readable on the console (<c>projectId:p1 runId:RUN_…</c>).</summary>
    private sealed class RunScope(List<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => values[index];

        public int Count => values.Count;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => string.Join(' ', values.Select(pair => $"{pair.Key}:{pair.Value}"));
    }
}

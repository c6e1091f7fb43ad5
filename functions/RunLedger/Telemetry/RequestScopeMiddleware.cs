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
        List<KeyValuePair<string, object?>>? scope = null;
        foreach (var (name, tag) in Scoped)
        {
            if (context.GetRouteValue(name) is string { Length: > 0 } value)
            {
                (scope ??= []).Add(new(name, value));
                Activity.Current?.SetTag(tag, value);
            }
        }

        if (scope is null)
        {
            await next(context);
            return;
        }

        using (logger.BeginScope(scope))
        {
            await next(context);
        }
    }
}

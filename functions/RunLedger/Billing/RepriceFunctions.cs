using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Access;
using RunLedger.Http;

namespace RunLedger.Billing;

/// <summary>
/// Repricing a project's past costs from the price book in force.
/// <code>
/// POST projects/{projectId}/reprice   RepriceProject   dry run by default; "dryRun": false applies it
/// </code>
/// </summary>
public sealed class RepriceFunctions(Repricing repricing)
{
    /// <summary>
    /// Body: <c>from</c> and <c>to</c> (ISO 8601 dates or times, both included: a date alone its whole
    /// day, UTC; the report's time decides), <c>dryRun</c> (default true), <c>includeReported</c>
    /// (default false: costs the agent reported keep them).
    /// </summary>
    [Function("RepriceProject")]
    [Access(Need.Write)]
    [Body("RepriceRequest")]
    [Answers(200, "Reprice", When = "A dry run's per-run differences, or the audit record of an applied reprice (again the same when repeated).")]
    [Problems(400, 413, 415, 503)]
    public async Task<IResult> Reprice(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/reprice")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var body = await JsonBody.ReadObjectAsync(request, cancellationToken);
        if (body.Select(m => m.Key).FirstOrDefault(k => k is not ("from" or "to" or "dryRun" or "includeReported")) is { } unknown)
        {
            throw LedgerException.BadRequest($"'{unknown}' is not a member of a reprice: from, to, dryRun, includeReported.");
        }
        var from = Time(body, "from", endOfDay: false);
        var to = Time(body, "to", endOfDay: true);
        if (from > to) throw LedgerException.BadRequest("'from' is later than 'to'.");
        var caller = AccessMiddleware.CallerOf(request.HttpContext);
        var result = await repricing.RunAsync(new Repricing.Request(
            projectId, from, to, Apply: !Flag(body, "dryRun", true), IncludeReported: Flag(body, "includeReported", false),
            By: caller.IsAdmin ? "admin key" : "project key"), cancellationToken);
        return TypedResults.Ok(result);
    }

    private static bool Flag(JsonObject body, string name, bool fallback) =>
        body[name] switch
        {
            null => fallback,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => (bool)v,
            _ => throw LedgerException.BadRequest($"'{name}' must be true or false."),
        };

    private static DateTimeOffset Time(JsonObject body, string name, bool endOfDay) =>
        QueryValues.TimeBound(JsonBody.OptionalString(body, name), name, endOfDay)
        ?? throw LedgerException.BadRequest($"'{name}' is required: an ISO 8601 date or date and time.");
}

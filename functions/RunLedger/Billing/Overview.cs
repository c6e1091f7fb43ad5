using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Http;
using RunLedger.Ledger;

namespace RunLedger.Billing;

/// <summary>
/// The agency's view of every client (admin): per project, this month's cost, markup and total so
/// far, its active and stale runs, its budget used, and the state of last month's statement.
/// <code>
/// GET overview   GetOverview   every project with runs, this month (UTC)
/// </code>
/// </summary>
/// <remarks>
/// Per project: the counts row and the budget row (two point reads), this month's statement (the
/// project's closed statements and cost rows, see <see cref="Statements"/>) and last month's (the
/// same closed statements, so from the same query when closed). Meant for an agency's tens of
/// clients, not thousands: it reads every project's history of costs.
/// </remarks>
public sealed class OverviewFunctions(Runs.ProjectRegistry projects, Statements statements, Callbacks.IBudgetView budgets, LedgerStorage storage, TimeProvider clock)
{
    [Function("GetOverview")]
    [Access(Need.Admin)]
    [Answers(200, "Overview")]
    [Problems(503)]
    public async Task<IResult> GetOverview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "overview")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var month = Runs.RunRules.MonthOf(now);
        var lastMonth = Runs.RunRules.MonthOf(now.AddMonths(-1));
        var items = new JsonArray();
        decimal subtotal = 0, markup = 0, total = 0;
        await foreach (var projectId in projects.AllAsync(cancellationToken))
        {
            var countsRow = storage.Table.FindAsync(projectId, Keys.CountsRow, cancellationToken);
            var budget = budgets.ShowAsync(projectId, cancellationToken);
            var current = await statements.GetAsync(projectId, month, cancellationToken);
            var previous = await statements.GetAsync(projectId, lastMonth, cancellationToken);
            var counts = await countsRow is { } row ? Runs.RunCounts.From(row) : null;
            subtotal += (decimal)current["subtotal"]!;
            markup += (decimal)current["markup"]!;
            total += (decimal)current["total"]!;
            items.Add(new JsonObject
            {
                ["projectId"] = projectId,
                ["month"] = month,
                ["subtotal"] = current["subtotal"]!.DeepClone(),
                ["markup"] = current["markup"]!.DeepClone(),
                ["total"] = current["total"]!.DeepClone(),
                ["exactSubtotal"] = current["exactSubtotal"]!.DeepClone(),
                ["activeRuns"] = counts is null ? null : counts[Runs.RunStatus.Queued] + counts[Runs.RunStatus.Running],
                ["staleRuns"] = counts?.Stale,
                ["budget"] = await budget,
                ["lastMonth"] = new JsonObject
                {
                    ["month"] = lastMonth,
                    ["status"] = previous["status"]!.DeepClone(),
                    ["statementId"] = previous["statementId"]?.DeepClone(),
                    ["total"] = previous["total"]!.DeepClone(),
                },
                ["links"] = new JsonObject
                {
                    ["statement"] = $"/api/projects/{projectId}/statements/{month}",
                    ["lastStatement"] = $"/api/projects/{projectId}/statements/{lastMonth}",
                    ["dashboard"] = $"/api/dashboard/projects/{projectId}",
                    ["printableStatement"] = $"/api/dashboard/projects/{projectId}/statements/{lastMonth}",
                },
            });
        }
        return TypedResults.Ok(new JsonObject
        {
            ["month"] = month,
            ["currency"] = "USD",
            ["subtotal"] = subtotal,
            ["markup"] = markup,
            ["total"] = total,
            ["projects"] = items,
        });
    }
}

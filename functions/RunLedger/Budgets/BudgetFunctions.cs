using RunLedger.Access;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Ledger;
using RunLedger.Runs;
using RunLedger.Http;

namespace RunLedger.Budgets;

/// <summary>
/// A project's spend against its budget.
/// <code>
/// GET projects/{projectId}/budget   GetProjectBudget   month-to-date spend, limit, thresholds crossed, this month's alerts
/// </code>
/// </summary>
public sealed class BudgetFunctions(BudgetLedger budgets, Callbacks.CallbackOutbox outbox, TimeProvider clock)
{
    [Function("GetProjectBudget")]
    [Access(Need.Read)]
    [Answers(200, "Budget")]
    [Problems(400, 503)]
    public async Task<IResult> GetBudget(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/budget")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var now = clock.GetUtcNow();
        var answer = await budgets.ShowAsync(projectId, now, cancellationToken);
        var month = Runs.RunRules.MonthOf(now);
        var (from, to) = Keys.BudgetCallbackRange(month);
        answer["alerts"] = await outbox.ShowRangeAsync(projectId, from, to, cancellationToken);
        return TypedResults.Ok(Callbacks.CallbackUrls.ForReader(request, answer));
    }
}

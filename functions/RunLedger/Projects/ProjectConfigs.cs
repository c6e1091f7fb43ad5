using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Budgets;
using RunLedger.Callbacks;
using RunLedger.Ledger;

namespace RunLedger.Projects;

/// <summary>
/// The one owner of a project's (client's) config: what it may hold, where it is stored and how
/// it is read. Stored in the project's <c>config</c> row; its budget and budget callbacks
/// (without secrets) are copied into the <c>budget</c> row in the same transaction, where each
/// cost report reads them. Each run freezes the config merged with its start request's
/// (<c>configSnapshot</c>), checked here as a whole.
/// </summary>
/// <remarks>
/// Each section is parsed by the feature that uses it: <c>invoice</c> (<see cref="Costs.CostLedger"/>),
/// <c>pricing</c> (negotiated rates, <see cref="Costs.PricingTable.OfConfig"/>),
/// <c>pipeline</c> (<see cref="Runs.ActiveRuns"/>), <c>callbacks</c> (<see cref="CallbackConfig"/>),
/// <c>budget</c> (<see cref="BudgetConfig"/>). Members not named there are kept as sent.
/// </remarks>
public sealed class ProjectConfigs(LedgerStorage storage, BudgetLedger budgets, Runs.RunStore runs, CallbackEnvironment environment)
{
    /// <summary>
    /// A 400 naming the first value that cannot be used. <paramref name="path"/> prefixes the
    /// names in the message: <c>""</c> for a stored config, <c>"config"</c> for a start request's.
    /// </summary>
    public void Check(JsonObject config, string path)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        Costs.CostLedger.CheckInvoiceSettings(config, prefix + "invoice");
        Costs.PricingTable.CheckProjectPricing(config, prefix + "pricing");
        Runs.ActiveRuns.CheckPipelineSettings(config, prefix + "pipeline");
        CallbackConfig.Check(config, path, environment.IsDevelopment);
        BudgetConfig.Parse(config, path);
    }

    /// <summary>The stored config, or null when the project has none. One point read.</summary>
    public async Task<JsonObject?> GetAsync(string projectId, CancellationToken cancellationToken)
    {
        var entity = await storage.Table.FindAsync(projectId, Keys.ConfigRow, cancellationToken);
        return entity is null ? null : DocumentColumns.Read(entity);
    }

    /// <summary>
    /// Checks and stores <paramref name="config"/>, replacing the project's, in one transaction with
    /// the budget row following it and the project's counts row carrying whether runs started from
    /// now on keep the budget (<see cref="Runs.RunCounts.Budgeted"/>). Reads the counts and budget
    /// rows first; again when a start or a cost changed either in between.
    /// </summary>
    /// <remarks>
    /// A budget turned on must count every cost of the month, also of runs started without it.
    /// In this order: the counts row is read (a start after that changes it, and this transaction
    /// fails); every active run is marked budgeted (a report that read its run unmarked fails its
    /// ETag, and its retry reads the budget row); the budget row is read and the month's cost rows
    /// summed (a cost of a budgeted run, or a late one of a final run, changes the budget row even
    /// without a budget, and this transaction fails); then the config, the budget row with that sum,
    /// and the flag commit together. A cost that committed before the sum is in it; one after it
    /// makes this transaction fail, and the sum is taken again.
    /// </remarks>
    public async Task PutAsync(string projectId, JsonObject config, CancellationToken cancellationToken)
    {
        Check(config, "");
        var configRow = new TableEntity(projectId, Keys.ConfigRow);
        DocumentColumns.Write(configRow, config);
        var budgeted = BudgetConfig.Parse(config, "") is not null;
        for (var attempt = 1; ; attempt++)
        {
            var (counts, countsRow) = await runs.CountsForChangeAsync(projectId, cancellationToken);
            var budgetRow = await budgets.ReadAsync(projectId, cancellationToken);
            if (budgeted && !BudgetLedger.HasBudget(budgetRow))
            {
                await runs.MarkActiveRunsBudgetedAsync(projectId, cancellationToken);
                budgetRow = await budgets.ReadAsync(projectId, cancellationToken);
            }
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpsertReplace, configRow) };
            if (await budgets.FollowConfigAsync(projectId, config, budgetRow, cancellationToken) is { } budgetAction) actions.Add(budgetAction);
            counts.Budgeted = budgeted;
            actions.Add(Runs.RunStore.CountsAction(counts, projectId, countsRow));
            try
            {
                await storage.Table.SubmitTransactionAsync(actions, cancellationToken);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < Contention.MaxAttempts)
            {
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }
}

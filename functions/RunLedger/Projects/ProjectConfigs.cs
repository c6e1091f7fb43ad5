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
public sealed class ProjectConfigs(LedgerStorage storage, BudgetLedger budgets, CallbackEnvironment environment)
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
    /// Checks and stores <paramref name="config"/>, replacing the project's, with the budget row
    /// following it in the same transaction (one read of the budget row, one transaction; again
    /// when a cost report changed the budget row in between).
    /// </summary>
    public async Task PutAsync(string projectId, JsonObject config, CancellationToken cancellationToken)
    {
        Check(config, "");
        var configRow = new TableEntity(projectId, Keys.ConfigRow);
        DocumentColumns.Write(configRow, config);
        for (var attempt = 1; ; attempt++)
        {
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpsertReplace, configRow) };
            if (await budgets.FollowConfigAsync(projectId, config, cancellationToken) is { } budgetRow) actions.Add(budgetRow);
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

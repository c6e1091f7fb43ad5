using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Callbacks;
using RunLedger.Costs;
using RunLedger.Ledger;

namespace RunLedger.Budgets;

/// <summary>
/// A project's month-to-date spend, kept at write time in one row (<see cref="Keys.BudgetRow"/>)
/// that every cost row changes in its own transaction (ETag compare-and-swap), so the spend always
/// equals the sum of the month's cost rows and a redelivered report cannot count twice.
/// </summary>
/// <remarks>
/// The month is the UTC month a cost <em>arrives</em> in (the ledger's clock), not the report's
/// timestamp: a late cost counts in the month it is recorded, so a closed month never changes and
/// never raises an alert after it ended. The row also holds the budget and the callbacks that
/// want <c>budget</c> events, copied from the project's config on every config PUT (so a report
/// reads one row, not the config too). Crossing a threshold adds one <c>budget</c> outbox record
/// per callback in the same transaction and remembers the threshold for the month: one alert per
/// threshold per month, however many reports race. At the first cost of a new month the row
/// starts over and the month that ended is kept as <c>spend|{yyyy-MM}</c>.
/// <para>
/// One alert per threshold <em>value</em> per month, whatever the budget's changes: the alert
/// record's key is <c>cbb|{month}|{threshold}|{i}</c>. A threshold that alerted this month does
/// not alert again this month when the limit changes, or when the budget is removed and set again
/// (the month's <c>Crossed</c> is kept); a threshold value not yet alerted alerts at the next cost
/// that reaches it against the limit then set. Should the row ever forget an alerted threshold,
/// the alert record decides: the threshold is noted, not raised again (and the report applies).
/// </para>
/// </remarks>
public sealed class BudgetLedger(LedgerStorage storage, CallbackOutbox outbox, TimeProvider clock)
{
    private const string Month = "Month";
    private const string SpendMicros = "SpendMicros";
    private const string Crossed = "Crossed";
    private const string Budget = "Budget";
    private const string Callbacks = "Callbacks";


    /// <summary>Whether the project's budget row (from <see cref="ReadAsync"/>) holds a budget, so its spend is kept.</summary>
    public static bool HasBudget(TableEntity? row) => BudgetConfig.FromJson(row?.GetString(Budget)) is not null;

    public Task<TableEntity?> ReadAsync(string projectId, CancellationToken cancellationToken) =>
        storage.Table.FindAsync(projectId, Keys.BudgetRow, cancellationToken);

    /// <summary>
    /// What a cost of a budgeted run (<see cref="Runs.RunRecord.Budgeted"/>), or a late cost of a
    /// final run, adds to its transaction, given the budget row read for it: with a budget, the new
    /// spend and any alerts (<see cref="AddAsync"/>); without one, the budget row merged with
    /// nothing on its ETag (added empty when there is none). That write changes nothing a reader
    /// sees, but it changes the row's ETag, so a config PUT turning a budget on, which sums the
    /// month's cost rows and then writes the spend on the ETag it read first, fails and sums again
    /// when such a cost committed in between, instead of missing it.
    /// </summary>
    public async Task<(List<TableTransactionAction> Actions, List<CallbackRecord> Alerts)> CostActionsAsync(
        string projectId, TableEntity? row, long costMicros, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (HasBudget(row)) return await AddAsync(projectId, row, costMicros, now, cancellationToken);
        var touch = new TableEntity(projectId, Keys.BudgetRow);
        return ([row is null
            ? new(TableTransactionActionType.Add, touch)
            : new(TableTransactionActionType.UpdateMerge, touch, row.ETag)], []);
    }

    /// <summary>What a final callback says of a budget row at <paramref name="now"/>; null when the project has no budget.</summary>
    public static JsonObject? View(TableEntity? row, DateTimeOffset now)
    {
        if (BudgetConfig.FromJson(row?.GetString(Budget)) is not { } budget) return null;
        var month = Runs.RunRules.MonthOf(now);
        var spend = row!.GetString(Month) == month ? row.GetInt64(SpendMicros) ?? 0 : 0;
        return new JsonObject
        {
            ["month"] = month,
            ["monthlyUsd"] = Money.Exact(budget.MonthlyMicros),
            ["spendUsd"] = Money.Exact(spend),
            ["remainingUsd"] = Money.Exact(budget.MonthlyMicros - spend),
        };
    }

    /// <summary>
    /// Adds a cost to the spend: the budget row's write (first) and any month archive, for the
    /// cost's transaction, and the alerts it raises. Reads storage only when a threshold is newly
    /// crossed and callbacks want it: whether its alert was recorded this month already.
    /// </summary>
    public async Task<(List<TableTransactionAction> Actions, List<CallbackRecord> Alerts)> AddAsync(
        string projectId, TableEntity? row, long costMicros, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var month = Runs.RunRules.MonthOf(now);
        var next = new TableEntity(projectId, Keys.BudgetRow);
        if (row?.GetString(Budget) is { } budgetJson) next[Budget] = budgetJson;
        if (row?.GetString(Callbacks) is { } callbacksJson) next[Callbacks] = callbacksJson;

        var actions = new List<TableTransactionAction>();
        long spend = 0;
        var crossed = new List<string>();
        if (row?.GetString(Month) is { } rowMonth && rowMonth != month)
        {
            actions.Add(new(TableTransactionActionType.UpsertReplace, new TableEntity(projectId, Keys.SpendRow(rowMonth))
            {
                [SpendMicros] = row.GetInt64(SpendMicros) ?? 0,
                [Crossed] = row.GetString(Crossed) ?? "",
            }));
        }
        else if (row is not null)
        {
            spend = row.GetInt64(SpendMicros) ?? 0;
            crossed.AddRange(CrossedOf(row));
        }
        spend = checked(spend + costMicros);

        var alerts = new List<CallbackRecord>();
        if (BudgetConfig.FromJson(row?.GetString(Budget)) is { } budget)
        {
            var callbacks = CallbackConfig.Read(row?.GetString(Callbacks) is { } c ? new JsonObject { ["callbacks"] = JsonNode.Parse(c) } : null)
                .Where(cb => cb.Events.Contains(CallbackConfig.Budget)).ToList();
            foreach (var threshold in budget.AlertAt)
            {
                var name = BudgetConfig.Name(threshold);
                if (spend < budget.ThresholdMicros(threshold) || crossed.Contains(name)) continue;
                crossed.Add(name);
                if (callbacks.Count == 0 || await AlertedAsync(projectId, month, name, cancellationToken)) continue;
                var alert = new JsonObject
                {
                    ["month"] = month,
                    ["threshold"] = threshold,
                    ["thresholdUsd"] = Money.Exact(budget.ThresholdMicros(threshold)),
                    ["monthlyUsd"] = Money.Exact(budget.MonthlyMicros),
                    ["spendUsd"] = Money.Exact(spend),
                };
                alerts.AddRange(callbacks.Select(cb => outbox.ForBudget(projectId, month, name, cb, alert)));
            }
        }
        next[Month] = month;
        next[SpendMicros] = spend;
        next[Crossed] = string.Join(',', crossed);
        actions.Insert(0, row is null
            ? new(TableTransactionActionType.Add, next)
            : new(TableTransactionActionType.UpdateReplace, next, row.ETag));
        return (actions, alerts);
    }

    /// <summary>Whether an alert of <paramref name="threshold"/> was recorded in <paramref name="month"/> (any callback's).</summary>
    private async Task<bool> AlertedAsync(string projectId, string month, string threshold, CancellationToken cancellationToken)
    {
        var (from, to) = Keys.BudgetCallbackRange(month, threshold);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        await foreach (var _ in storage.Table.QueryAsync<TableEntity>(filter, 1, ["RowKey"], cancellationToken))
        {
            return true;
        }
        return false;
    }

    /// <summary>The project's cost rows recorded in <paramref name="month"/> (UTC), summed: one range query in its partition.</summary>
    private async Task<long> MonthSpendAsync(string projectId, string month, CancellationToken cancellationToken)
    {
        var (from, to) = Keys.CostRange();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        long spend = 0;
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var recordedAt = (string?)DocumentColumns.Read(row)["recordedAt"];
            if (recordedAt is not null && recordedAt.StartsWith(month, StringComparison.Ordinal))
            {
                spend = checked(spend + (row.GetInt64("CostMicros") ?? 0));
            }
        }
        return spend;
    }

    private static string[] CrossedOf(TableEntity row) =>
        (row.GetString(Crossed) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The change to the budget row <paramref name="row"/> (as read) that makes it follow a new
    /// project config (its budget and budget callbacks, without secrets), keeping the month's spend;
    /// null when the project has no budget row and the config sets neither. A budget turned on
    /// starts from the month's cost rows, summed after the row was read. Part of the config's
    /// transaction (<see cref="Projects.ProjectConfigs.PutAsync"/>); a 412 there means a cost
    /// changed the row since it was read, and it is read and summed again.
    /// </summary>
    public async Task<TableTransactionAction?> FollowConfigAsync(string projectId, JsonObject config, TableEntity? row, CancellationToken cancellationToken)
    {
        var budget = BudgetConfig.Parse(config, "");
        var (withoutSecrets, _) = CallbackConfig.Split(config);
        var callbacks = withoutSecrets["callbacks"]?.ToJsonString();
        if (row is null && budget is null && callbacks is null) return null;

        var next = new TableEntity(projectId, Keys.BudgetRow);
        foreach (var name in new[] { Month, SpendMicros, Crossed })
        {
            if (row?.TryGetValue(name, out var value) == true && value is not null) next[name] = value;
        }
        if (budget is not null && !HasBudget(row))
        {
            // Spend is kept only while a budget is set: one just set starts from the
            // month's cost rows recorded so far. The thresholds that alerted this month
            // (before the budget was removed) stay crossed: each alerts once a month.
            var month = Runs.RunRules.MonthOf(clock.GetUtcNow());
            next[Month] = month;
            next[SpendMicros] = await MonthSpendAsync(projectId, month, cancellationToken);
            next[Crossed] = row?.GetString(Month) == month ? row.GetString(Crossed) ?? "" : "";
        }
        if (budget is not null) next[Budget] = budget.ToJson().ToJsonString();
        if (callbacks is not null) next[Callbacks] = callbacks;
        return row is null
            ? new(TableTransactionActionType.Add, next)
            : new(TableTransactionActionType.UpdateReplace, next, row.ETag);
    }

    /// <summary>What <c>GET .../budget</c> answers: this month's spend, the limit and the thresholds crossed.</summary>
    public async Task<JsonObject> ShowAsync(string projectId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var row = await ReadAsync(projectId, cancellationToken);
        var month = Runs.RunRules.MonthOf(now);
        var current = row?.GetString(Month) == month;
        var spend = current ? row!.GetInt64(SpendMicros) ?? 0 : 0;
        var budget = BudgetConfig.FromJson(row?.GetString(Budget));
        var crossed = current ? CrossedOf(row!).Select(t => decimal.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).Order().ToList() : [];
        return new JsonObject
        {
            ["projectId"] = projectId,
            ["month"] = month,
            ["spendUsd"] = Money.Exact(spend),
            ["spendMicros"] = spend,
            ["monthlyUsd"] = budget is null ? null : Money.Exact(budget.MonthlyMicros),
            ["alertAt"] = budget is null ? null : new JsonArray([.. budget.AlertAt.Select(t => (JsonNode)JsonValue.Create(t))]),
            ["crossed"] = new JsonArray([.. crossed.Select(t => (JsonNode)JsonValue.Create(t))]),
            ["remainingUsd"] = budget is null ? null : Money.Exact(budget.MonthlyMicros - spend),
        };
    }
}

/// <summary>The month's spend, limit and what remains for a final callback (null without a budget): one point read of the budget row.</summary>
public sealed class BudgetView(LedgerStorage storage, TimeProvider clock) : IBudgetView, Runs.IProjectBudget
{
    public async Task<JsonObject?> ShowAsync(string projectId, CancellationToken cancellationToken) =>
        BudgetLedger.View(await storage.Table.FindAsync(projectId, Keys.BudgetRow, cancellationToken), clock.GetUtcNow());

    /// <summary>Whether the project has a budget: one point read of the budget row.</summary>
    public async Task<bool> IsSetAsync(string projectId, CancellationToken cancellationToken) =>
        BudgetLedger.HasBudget(await storage.Table.FindAsync(projectId, Keys.BudgetRow, cancellationToken));
}

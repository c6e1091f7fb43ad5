using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Costs;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Billing;

/// <summary>
/// A project's monthly statements: what an agency bills its client for a month (UTC), built from
/// the project's cost rows, and frozen when closed.
/// </summary>
/// <remarks>
/// <para><b>Which month a cost belongs to.</b> Its home month is the month of its usage: the
/// report's time, or the time the ledger recorded it when the report claims a later time (an agent
/// clock ahead of ours). A statement holds the costs whose home month it is, and adjustments.</para>
/// <para><b>Closing</b> freezes a statement: its JSON, and what it billed of each cost row. Every
/// cost is billed in full and once: a cost that reaches a closed month (a late report) is never
/// written into it, and neither is a reprice of one a statement billed. Either is an adjustment
/// (the cost, or the difference from what was billed) on the first statement after its home month
/// that is still open, from the month it was recorded or repriced in on, naming the run and its month.</para>
/// <para><b>Exact.</b> The subtotal is the sum of the rows' micro-dollars; lines, markup and total
/// are rounded as a run's invoice is (<see cref="Invoice.Build"/>).</para>
/// <para><b>Cost in storage requests.</b> An open statement reads the project's closed statements
/// (one query) and every cost row of the project (one query, a page per 1,000 rows): proportional
/// to the project's history, which retention bounds. A closed one is the same query of the closed
/// statements. Closing adds a transaction for the number and one insert.</para>
/// </remarks>
public sealed class Statements(LedgerStorage storage, Projects.ProjectConfigs configs, TimeProvider clock)
{
    private const string IncludedPrefix = "Inc";

    /// <summary>A closed statement: its frozen JSON and the cost rows it holds.</summary>
    private sealed record Closed(string Month, JsonObject Json, Dictionary<string, long> Billed);

    private static string NextMonth(string month) => RunRules.MonthOf(RouteIds.CheckMonth(month).AddMonths(1));

    /// <summary>The statement of <paramref name="month"/>: frozen when closed, else as it stands now.</summary>
    public async Task<JsonObject> GetAsync(string projectId, string month, CancellationToken cancellationToken)
    {
        RouteIds.CheckMonth(month);
        var closed = await ClosedAsync(projectId, cancellationToken);
        return closed.TryGetValue(month, out var statement)
            ? statement.Json
            : (await BuildAsync(projectId, month, closed, cancellationToken)).Json;
    }

    /// <summary>The project's closed statements, oldest first: month, number, when, totals.</summary>
    public async Task<JsonArray> ListClosedAsync(string projectId, CancellationToken cancellationToken)
    {
        var closed = await ClosedAsync(projectId, cancellationToken);
        return new JsonArray([.. closed.Values.OrderBy(c => c.Month, StringComparer.Ordinal).Select(c => (JsonNode)new JsonObject
        {
            ["month"] = c.Month,
            ["statementId"] = c.Json["statementId"]?.DeepClone(),
            ["closedAt"] = c.Json["closedAt"]?.DeepClone(),
            ["total"] = c.Json["total"]?.DeepClone(),
            ["currency"] = c.Json["currency"]?.DeepClone(),
        })]);
    }

    /// <summary>
    /// Closes the statement of an ended month: numbers it (<c>STMT_YYYYMM_NNNN</c>), freezes it and
    /// records who closed it and when. Closing a closed month answers the statement as it was closed.
    /// </summary>
    public async Task<JsonObject> CloseAsync(string projectId, string month, CloseRequest request, CancellationToken cancellationToken)
    {
        var start = RouteIds.CheckMonth(month);
        var now = clock.GetUtcNow();
        if (now < start.AddMonths(1))
        {
            throw LedgerException.Conflict(
                $"The month {month} has not ended: its statement can be closed from {RunRules.Timestamp(start.AddMonths(1))} (UTC).");
        }
        var closed = await ClosedAsync(projectId, cancellationToken);
        if (closed.TryGetValue(month, out var done)) return done.Json;

        var (json, included) = await BuildAsync(projectId, month, closed, cancellationToken);
        json["statementId"] = await NumberAsync(projectId, month, cancellationToken);
        json["status"] = "closed";
        json["closedAt"] = RunRules.Timestamp(now);
        json["closedBy"] = new JsonObject { ["credential"] = request.Credential, ["name"] = request.Name };
        if (request.Exchange is { } exchange) json["exchange"] = Convert(json, exchange);

        var entity = new TableEntity(projectId, Keys.StatementRow(month)) { ["StatementId"] = (string)json["statementId"]! };
        var bytes = DocumentColumns.Write(entity, json);
        bytes += DocumentColumns.Write(entity,
            new JsonObject { ["billed"] = new JsonObject([.. included.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => KeyValuePair.Create(k.Key, (JsonNode?)k.Value))]) },
            IncludedPrefix);
        if (bytes > DocumentColumns.MaxEncodedBytes) throw new DocumentTooLargeException(bytes);
        try
        {
            await storage.Table.AddEntityAsync(entity, cancellationToken);
        }
        catch (Azure.RequestFailedException e) when (e.Status == StatusCodes.Status409Conflict)
        {
            // Closed at the same moment by another request (or by this one, whose answer was lost): the first stands.
            var stored = await storage.Table.FindAsync(projectId, Keys.StatementRow(month), cancellationToken);
            return DocumentColumns.Read(stored!);
        }
        return json;
    }

    /// <summary>The statement's own number: one per project and month, given once even when closing is retried.</summary>
    private async Task<string> NumberAsync(string projectId, string month, CancellationToken cancellationToken)
    {
        var yearMonth = month.Replace("-", "", StringComparison.Ordinal);
        var claimKey = Keys.StatementClaimRow(yearMonth, projectId);
        for (var attempt = 1; ; attempt++)
        {
            var claim = await storage.Table.FindAsync(Keys.StatementsPartition, claimKey, cancellationToken);
            if (claim?.GetInt64("Number") is { } given) return Format(yearMonth, given);
            var counter = await storage.Table.FindAsync(Keys.StatementsPartition, Keys.StatementCounterRow(yearMonth), cancellationToken);
            var next = (counter?.GetInt64("Last") ?? 0) + 1;
            var counterRow = new TableEntity(Keys.StatementsPartition, Keys.StatementCounterRow(yearMonth)) { ["Last"] = next };
            TableTransactionAction[] actions =
            [
                counter is null ? new(TableTransactionActionType.Add, counterRow) : new(TableTransactionActionType.UpdateReplace, counterRow, counter.ETag),
                new(TableTransactionActionType.Add, new TableEntity(Keys.StatementsPartition, claimKey) { ["Number"] = next, ["ProjectId"] = projectId }),
            ];
            try
            {
                await storage.Table.SubmitTransactionAsync(actions, cancellationToken);
                return Format(yearMonth, next);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < Contention.MaxAttempts)
            {
                // Another statement of the month took the number, or this one's claim exists: read again.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    private static string Format(string yearMonth, long number) =>
        string.Create(CultureInfo.InvariantCulture, $"STMT_{yearMonth}_{number:D4}");

    private async Task<Dictionary<string, Closed>> ClosedAsync(string projectId, CancellationToken cancellationToken)
    {
        var (from, to) = Keys.StatementRange();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        var closed = new Dictionary<string, Closed>(StringComparer.Ordinal);
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var month = Keys.StatementMonth(row.RowKey);
            var billed = (DocumentColumns.Read(row, IncludedPrefix)["billed"] as JsonObject ?? [])
                .ToDictionary(k => k.Key, k => (long)k.Value!, StringComparer.Ordinal);
            closed[month] = new Closed(month, DocumentColumns.Read(row), billed);
        }
        return closed;
    }

    /// <summary>The statement of an open month as it stands, and what it bills of each cost row.</summary>
    private async Task<(JsonObject Json, Dictionary<string, long> Included)> BuildAsync(
        string projectId, string month, Dictionary<string, Closed> closed, CancellationToken cancellationToken)
    {
        var start = RouteIds.CheckMonth(month);
        // What closed statements billed of each row: its cost when billed, then any differences since.
        var billedBefore = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, micros) in closed.Values.SelectMany(c => c.Billed))
        {
            billedBefore[key] = checked(billedBefore.GetValueOrDefault(key) + micros);
        }
        var lines = new JsonObject();
        var runs = new SortedDictionary<string, (long Micros, int Rows)>(StringComparer.Ordinal);
        var adjustments = new List<JsonObject>();
        var included = new Dictionary<string, long>(StringComparer.Ordinal);
        long subtotalMicros = 0;

        var (from, to) = Keys.CostRange();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        await foreach (var entity in storage.Table.QueryAsync<TableEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            if (Keys.ParseCostRow(entity.RowKey) is not { } key) continue;
            var row = DocumentColumns.Read(entity);
            var recorded = RunRules.ParseTimestamp(row["recordedAt"]);
            var reported = RunRules.ParseTimestamp(row["reportedAt"]) ?? recorded;
            if (recorded is null || reported is null) continue;
            var home = RunRules.MonthOf(reported < recorded ? reported.Value : recorded.Value);
            var micros = entity.GetInt64("CostMicros") ?? (long?)row["costMicros"] ?? 0;
            var wasBilled = billedBefore.TryGetValue(entity.RowKey, out var billed);
            long amount;
            if (!wasBilled && home == month)
            {
                amount = micros;
                CostLedger.AddRowLines(lines, row);
                var run = runs.GetValueOrDefault(key.RunId);
                runs[key.RunId] = (checked(run.Micros + micros), run.Rows + 1);
            }
            else if ((wasBilled || closed.ContainsKey(home)) && micros != billed
                     && AdjustedIn(home, RunRules.MonthOf(RunRules.ParseTimestamp(row["repricedAt"]) ?? recorded.Value), closed) == month)
            {
                // A cost its month's statement never held (it arrived after the close), or one
                // repriced since a statement billed it: the difference, here.
                amount = micros - billed;
                var agent = (string)row["agent"]!;
                var model = (string?)row["model"];
                CostLedger.AddToLine(lines, agent, model, $"adjustment for {home}, run {key.RunId}", 1, null, amount,
                    priced: (string?)row["priceSource"] != CostLedger.Unpriced);
                adjustments.Add(new JsonObject
                {
                    ["runId"] = key.RunId,
                    ["month"] = home,
                    ["eventId"] = row["eventId"]?.DeepClone(),
                    ["agent"] = agent,
                    ["model"] = model,
                    ["exactAmount"] = Money.Exact(amount),
                    ["recordedAt"] = (row["repricedAt"] ?? row["recordedAt"])!.DeepClone(),
                    ["reason"] = wasBilled
                        ? $"Repriced after a statement billed it: the difference from {Money.Exact(billed)} to {Money.Exact(micros)}."
                        : $"Recorded after the statement of {home} was closed.",
                });
            }
            else
            {
                continue;
            }
            subtotalMicros = checked(subtotalMicros + amount);
            included[entity.RowKey] = amount;
        }

        var config = await configs.GetAsync(projectId, cancellationToken);
        var invoice = Invoice.Build(lines, CostLedger.MarkupRateOf(config));
        var json = new JsonObject
        {
            ["statementId"] = null,
            ["projectId"] = projectId,
            ["month"] = month,
            ["from"] = RunRules.Timestamp(start),
            ["to"] = RunRules.Timestamp(start.AddMonths(1)),
            ["status"] = "open",
            ["runs"] = new JsonArray([.. runs.Select(r => (JsonNode)new JsonObject
            {
                ["runId"] = r.Key, ["costRows"] = r.Value.Rows, ["exactAmount"] = Money.Exact(r.Value.Micros),
            })]),
            ["byAgent"] = Breakdown(lines, "agent"),
            ["byModel"] = Breakdown(lines, "model"),
            ["byUnit"] = Breakdown(lines, "unit"),
            ["adjustments"] = new JsonArray([.. adjustments.OrderBy(a => (string)a["month"]!, StringComparer.Ordinal)
                .ThenBy(a => (string)a["runId"]!, StringComparer.Ordinal).Select(a => (JsonNode)a)]),
            ["subtotalMicros"] = subtotalMicros,
            ["closedAt"] = null,
            ["closedBy"] = null,
            ["exchange"] = null,
        };
        foreach (var (name, value) in invoice) json[name] = value?.DeepClone();
        return (json, included);
    }

    /// <summary>Where a cost of closed <paramref name="home"/>, recorded in <paramref name="recorded"/>, is billed: the first open month after home, from recorded on.</summary>
    private static string AdjustedIn(string home, string recorded, Dictionary<string, Closed> closed)
    {
        var target = string.CompareOrdinal(recorded, home) > 0 ? recorded : NextMonth(home);
        while (closed.ContainsKey(target)) target = NextMonth(target);
        return target;
    }

    /// <summary>Exact amounts per value of one line member (agent, model or unit), largest first.</summary>
    private static JsonArray Breakdown(JsonObject lines, string member)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (_, line) in lines)
        {
            var name = (string?)line![member] ?? "";
            sums[name] = checked(sums.GetValueOrDefault(name) + (long)line["micros"]!);
        }
        return new JsonArray([.. sums.OrderByDescending(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => (JsonNode)new JsonObject { [member] = s.Key.Length == 0 ? null : s.Key, ["exactAmount"] = Money.Exact(s.Value) })]);
    }

    /// <summary>The statement's amounts in the client's currency at the operator's rate: each rounded to cents, half away from zero.</summary>
    private static JsonObject Convert(JsonObject json, Exchange exchange)
    {
        decimal At(string name) => Math.Round((decimal)json[name]! * exchange.Rate, 2, MidpointRounding.AwayFromZero);
        var subtotal = At("subtotal");
        var markup = At("markup");
        return new JsonObject
        {
            ["currency"] = exchange.Currency,
            ["rate"] = exchange.Rate.ToString(CultureInfo.InvariantCulture),
            ["rateDate"] = exchange.RateDate,
            ["subtotal"] = subtotal,
            ["markup"] = markup,
            ["total"] = subtotal + markup,
            ["rounding"] = "Subtotal and markup each converted from USD and rounded to cents, half away from zero; total = subtotal + markup.",
        };
    }

    /// <summary>The statement as CSV: one row per line, run and adjustment, then the totals.</summary>
    public static string Csv(JsonObject statement)
    {
        var csv = new StringBuilder("kind,runId,month,agent,model,unit,quantity,unitPrice,amount,exactAmount\r\n");
        void Row(params object?[] cells) =>
            csv.Append(string.Join(',', cells.Select(c => Cell(c is JsonNode n ? n.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string?)n : n.ToJsonString() : c?.ToString())))).Append("\r\n");
        foreach (var line in statement["lineItems"]!.AsArray())
        {
            Row("line", null, statement["month"], line!["agent"], line["model"], line["unit"], line["quantity"], line["unitPrice"], line["amount"], line["exactAmount"]);
        }
        foreach (var run in statement["runs"]!.AsArray())
        {
            Row("run", run!["runId"], statement["month"], null, null, null, run["costRows"], null, null, run["exactAmount"]);
        }
        foreach (var adjustment in statement["adjustments"]!.AsArray())
        {
            Row("adjustment", adjustment!["runId"], adjustment["month"], adjustment["agent"], adjustment["model"], null, null, null, null, adjustment["exactAmount"]);
        }
        Row("subtotal", null, statement["month"], null, null, null, null, null, statement["subtotal"], statement["exactSubtotal"]);
        Row("markup", null, statement["month"], null, null, null, null, statement["markupRate"], statement["markup"], null);
        Row("total", null, statement["month"], null, null, null, null, null, statement["total"], null);
        if (statement["exchange"] is JsonObject exchange)
        {
            Row($"total {exchange["currency"]} at {exchange["rate"]} ({exchange["rateDate"]})", null, statement["month"], null, null, null, null, null, exchange["total"], null);
        }
        return csv.ToString();
    }

    private static string Cell(string? value) =>
        value is null ? ""
        : value.IndexOfAny([',', '"', '\r', '\n']) >= 0 || value.StartsWith('=') || value.StartsWith('+') || value.StartsWith('-') || value.StartsWith('@')
            ? "\"" + (value.StartsWith('=') || value.StartsWith('+') || value.StartsWith('@') ? "'" : "") + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
}

/// <summary>A rate the operator gives when closing: USD to <see cref="Currency"/>, as of <see cref="RateDate"/>.</summary>
public sealed record Exchange(string Currency, decimal Rate, string RateDate);

/// <summary>Who closes a statement, and the client's currency when it is billed in another.</summary>
public sealed record CloseRequest(string Credential, string? Name, Exchange? Exchange);

using RunLedger.Access;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;

namespace RunLedger.Costs;

/// <summary>
/// Money: a run's costs and invoice, and analytics over completed runs.
/// <code>
/// GET projects/{projectId}/runs/{runId}/costs   GetRunCosts      rows, exact totals, invoice (or CSV)
/// GET costs/summary                             GetCostSummary   average cost per completed run
/// GET costs/top                                 GetTopRuns       the most expensive completed runs
/// </code>
/// </summary>
public sealed class CostsFunctions(RunStore runs, LedgerStorage storage)
{
    public const int DefaultTop = 10;
    public const int MaxTop = 100;

    /// <summary>The run's cost rows, exact totals and invoice; <c>Accept: text/csv</c> gives the invoice lines as CSV.</summary>
    [Function("GetRunCosts")]
    [Access(Need.Read)]
    [Answers(200, "RunCosts", When = "The run's costs; with Accept: text/csv, the invoice lines as CSV (agent,model,quantity,unit,unitPrice,amount,exactAmount).")]
    [Answers(200, ContentType = "text/csv")]
    [Problems(400, 404, 503)]
    public async Task<IResult> GetRunCosts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/{runId}/costs")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        var context = request.HttpContext;
        var run = await runs.GetExistingAsync(projectId, runId, cancellationToken);
        var invoice = run.Document["invoice"]?.AsObject()
            ?? Invoice.Build(run.Costs["lines"]?.AsObject() ?? [], CostLedger.MarkupRate(run.Document));

        if (context.Request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Text(Csv(invoice), "text/csv; charset=utf-8");
        }

        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {projectId} and RowKey ge {Keys.RunCostRange(runId).From} and RowKey lt {Keys.RunCostRange(runId).To}");
        var rows = new JsonArray();
        await foreach (var entity in storage.Table.QueryAsync<TableEntity>(filter, 1000, null, cancellationToken))
        {
            rows.Add(DocumentColumns.Read(entity));
        }
        var micros = (long?)run.Costs["totalCostMicros"] ?? 0;
        return TypedResults.Ok(new JsonObject
        {
            ["projectId"] = projectId,
            ["runId"] = runId,
            ["status"] = run.Status,
            ["totalTokens"] = (long?)run.Costs["totalTokens"] ?? 0,
            ["totalCost"] = Money.ToDollars4(micros),
            ["totalCostMicros"] = micros,
            ["unpricedSteps"] = (long?)run.Costs["unpricedSteps"] ?? 0,
            ["rows"] = rows,
            ["invoice"] = invoice.DeepClone(),
            ["invoiceFinal"] = RunStatus.IsTerminal(run.Status),
        });
    }

    private static string Csv(JsonObject invoice)
    {
        var csv = new StringBuilder("agent,model,quantity,unit,unitPrice,amount,exactAmount\r\n");
        foreach (var item in invoice["lineItems"]!.AsArray())
        {
            csv.AppendJoin(',',
                Field(item!["agent"]), Field(item["model"]), Field(item["quantity"]), Field(item["unit"]),
                Field(item["unitPrice"]), Field(item["amount"]), Field(item["exactAmount"]));
            csv.Append("\r\n");
        }
        return csv.ToString();
    }

    /// <summary>
    /// RFC 4180 field; values that a spreadsheet would run as formulas (a leading <c>=</c>, <c>+</c>,
    /// <c>-</c>, <c>@</c>, tab or carriage return) are prefixed with a quote.
    /// </summary>
    internal static string Field(JsonNode? node)
    {
        var text = node switch
        {
            null => "",
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => node.ToJsonString(),
        };
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r') text = "'" + text;
        return text.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    /// <summary>Over completed runs (optionally one project, completed within [from, to]; a date-only <c>to</c> takes in its whole day): count, averages, total.</summary>
    [Function("GetCostSummary")]
    [Access(Need.Read, Project = ProjectFrom.Query)]
    [Query("projectId"), Query("from"), Query("to")]
    [Answers(200, "CostSummary")]
    [Problems(400, 503)]
    public async Task<IResult> GetSummary(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "costs/summary")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        string? projectId = request.Query["projectId"], from = request.Query["from"], to = request.Query["to"];
        if (projectId is not null) RouteIds.CheckProject(projectId);
        var start = QueryValues.TimeBound(from, "from", endOfDay: false) ?? DateTimeOffset.MinValue;
        var end = QueryValues.TimeBound(to, "to", endOfDay: true) ?? DateTimeOffset.MaxValue;
        if (start > end) throw LedgerException.BadRequest("'from' is later than 'to'.");

        var (first, after) = Keys.CompletedRange(projectId, start, end);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {Keys.CostsPartition} and RowKey ge {first} and RowKey lt {after}");
        long count = 0, micros = 0, tokens = 0;
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, 1000, ["CostMicros", "Tokens"], cancellationToken))
        {
            count++;
            micros += row.GetInt64("CostMicros") ?? 0;
            tokens += row.GetInt64("Tokens") ?? 0;
        }
        return TypedResults.Ok(new JsonObject
        {
            ["projectId"] = projectId,
            ["from"] = from is null ? null : Runs.RunRules.Timestamp(start),
            ["to"] = to is null ? null : Runs.RunRules.Timestamp(end),
            ["runCount"] = count,
            ["averageCost"] = count == 0 ? 0.0000m : decimal.Round(Money.ToDollars(micros) / count, 4, MidpointRounding.AwayFromZero),
            ["averageTokens"] = count == 0 ? 0.00m : decimal.Round((decimal)tokens / count, 2, MidpointRounding.AwayFromZero),
            ["totalCost"] = Money.ToDollars4(micros),
            ["totalCostMicros"] = micros,
            ["totalTokens"] = tokens,
        });
    }

    /// <summary>The most expensive completed runs, costliest first.</summary>
    [Function("GetTopRuns")]
    [Access(Need.Read, Project = ProjectFrom.Query)]
    [Query("projectId"), Query("limit", Maximum = MaxTop, Default = DefaultTop)]
    [Answers(200, "TopRuns")]
    [Problems(400, 503)]
    public async Task<IResult> GetTop(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "costs/top")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        string? projectId = request.Query["projectId"];
        if (projectId is not null) RouteIds.CheckProject(projectId);
        var take = QueryValues.Limit(request.Query["limit"], DefaultTop, MaxTop);
        var (first, after) = Keys.CostliestRange(projectId);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.CostsPartition} and RowKey gt {first} and RowKey lt {after}");
        var (rows, _) = await TablePaging.ReadAsync(storage.Table, filter, take, null, cancellationToken);
        var items = new JsonArray();
        foreach (var row in rows)
        {
            var micros = row.GetInt64("CostMicros") ?? 0;
            items.Add(new JsonObject
            {
                ["projectId"] = row.GetString("ProjectId"),
                ["runId"] = row.GetString("RunId"),
                ["totalCost"] = Money.ToDollars4(micros),
                ["totalCostMicros"] = micros,
                ["totalTokens"] = row.GetInt64("Tokens") ?? 0,
                ["completedAt"] = row.GetDateTimeOffset("CompletedAt") is { } at ? Runs.RunRules.Timestamp(at) : null,
            });
        }
        return TypedResults.Ok(new JsonObject { ["items"] = items });
    }
}

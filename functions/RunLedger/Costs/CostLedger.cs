using System.Globalization;
using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Costs;

/// <summary>
/// Turns a report's usage into a cost row and keeps the run's totals and invoice lines in step,
/// in the same transaction as the event: a redelivered report can never count twice, and totals
/// always equal the sum of the rows.
/// </summary>
public sealed class CostLedger(PricingTable pricing)
{
    public const string Computed = "computed";
    public const string Reported = "reported";
    public const string Unpriced = "unpriced";

    /// <summary>The cost row for <paramref name="report"/>; also adds it to the run's totals and lines.</summary>
    public TableEntity Record(RunRecord run, ProgressReport report, long sequence, DateTimeOffset now)
    {
        var usage = report.Usage!;
        var model = (string?)usage["model"];
        var prices = pricing.Find(model, report.Timestamp);
        var reported = usage["costUsd"] is { } c ? Money.ToMicros((decimal)c) : (long?)null;

        var parts = new JsonArray();
        long computed = 0, tokens = 0;
        var anyPriced = false;
        var lines = Lines(run.Costs);
        foreach (var unit in UsageUnit.All)
        {
            if (usage[unit.Figure] is not { } figure) continue;
            var quantity = (decimal)figure;
            if (unit.IsTokens) tokens += (long)quantity;
            decimal? unitPrice = prices is not null && prices.Prices.TryGetValue(unit.Figure, out var p) ? p : null;
            var micros = unitPrice is { } price ? Money.ToMicros(quantity * price / unit.Per) : 0;
            anyPriced |= unitPrice is not null;
            computed = checked(computed + micros);
            parts.Add(new JsonObject
            {
                ["figure"] = unit.Figure, ["quantity"] = quantity, ["unit"] = unit.Label,
                ["unitPrice"] = unitPrice, ["costUsd"] = Money.Exact(micros),
            });
            if (reported is null) AddToLine(lines, report.Agent, model, unit.Label, quantity, unitPrice, micros);
        }

        var source = reported is not null ? Reported : anyPriced ? Computed : Unpriced;
        var cost = reported ?? computed;
        if (cost > MaxReportCostMicros)
        {
            throw Http.LedgerException.BadRequest(
                $"The report's cost, {Money.Exact(cost)} USD, is over the most one report may cost ({Money.Exact(MaxReportCostMicros)} USD).");
        }
        if (reported is not null) AddToLine(lines, report.Agent, model, "reported cost", 1, null, cost);

        var totals = run.Costs;
        totals["totalCostMicros"] = checked(((long?)totals["totalCostMicros"] ?? 0) + cost);
        totals["totalTokens"] = checked(((long?)totals["totalTokens"] ?? 0) + tokens);
        if (source == Unpriced) totals["unpricedSteps"] = ((long?)totals["unpricedSteps"] ?? 0) + 1;
        ShowTotals(run);

        var row = new JsonObject
        {
            ["seq"] = sequence,
            ["eventId"] = report.EventId,
            ["agent"] = report.Agent,
            ["model"] = model,
            ["usage"] = usage.DeepClone(),
            ["parts"] = parts,
            ["tokens"] = tokens,
            ["costUsd"] = Money.Exact(cost),
            ["costMicros"] = cost,
            ["priceSource"] = source,
            ["computedCostUsd"] = anyPriced ? Money.Exact(computed) : null,
            ["reportedAt"] = RunRules.Timestamp(report.Timestamp),
            ["recordedAt"] = RunRules.Timestamp(now),
        };
        var entity = new TableEntity(run.ProjectId, Keys.CostRow(run.RunId, sequence)) { ["CostMicros"] = cost };
        DocumentColumns.Write(entity, row);
        return entity;
    }

    /// <summary>Copies the totals into the run document, and the invoice once the run is terminal.</summary>
    public static void ShowTotals(RunRecord run)
    {
        var totals = run.Costs;
        var doc = run.Document;
        doc["totalTokens"] = (long?)totals["totalTokens"] ?? 0;
        var micros = (long?)totals["totalCostMicros"] ?? 0;
        doc["totalCost"] = Money.ToDollars4(micros);
        doc["totalCostMicros"] = micros;
        if ((long?)totals["unpricedSteps"] is > 0 and var unpriced) doc["unpricedSteps"] = unpriced;
        if (RunStatus.IsTerminal(run.Status))
        {
            doc["invoice"] = Invoice.Build(Lines(totals), MarkupRate(doc));
        }
    }

    public const decimal DefaultMarkupRate = 0.20m;

    /// <summary>The largest markup accepted: 10 is 1,000%. Bounded so every invoice amount stays exact.</summary>
    public const decimal MaxMarkupRate = 10m;

    /// <summary>
    /// The most one report may cost: $1,000,000, reported or computed. With it, a run's total
    /// (a 64-bit count of micro-dollars) cannot overflow before millions of such reports, and the
    /// sums are checked besides.
    /// </summary>
    public const long MaxReportCostMicros = 1_000_000 * Money.MicrosPerDollar;

    /// <summary>A 400 unless <c>invoice.markupRate</c>, when given, is a number from 0 to <see cref="MaxMarkupRate"/>.</summary>
    public static void CheckInvoiceSettings(JsonObject config, string path)
    {
        if (config["invoice"] is not { } invoice) return;
        if (invoice is not JsonObject settings)
        {
            throw Http.LedgerException.BadRequest($"'{path}' must be a JSON object.");
        }
        if (settings["markupRate"] is { } rate
            && !(rate.GetValueKind() == System.Text.Json.JsonValueKind.Number && rate.AsValue().TryGetValue(out decimal value) && value is >= 0 and <= MaxMarkupRate))
        {
            throw Http.LedgerException.BadRequest($"'{path}.markupRate' must be a number from 0 to {MaxMarkupRate} (0.20 is 20%).");
        }
    }

    public static decimal MarkupRate(JsonObject run) =>
        run["configSnapshot"]?["invoice"]?["markupRate"] is JsonValue v && v.TryGetValue(out decimal rate) ? rate : DefaultMarkupRate;

    private static JsonObject Lines(JsonObject totals) => (JsonObject)(totals["lines"] ??= new JsonObject());

    private static void AddToLine(JsonObject lines, string agent, string? model, string unit, decimal quantity, decimal? unitPrice, long micros)
    {
        var key = string.Join('|', agent, model ?? "", unit, unitPrice?.ToString(CultureInfo.InvariantCulture) ?? "");
        if (lines[key] is not JsonObject line)
        {
            line = new JsonObject
            {
                ["agent"] = agent, ["model"] = model, ["unit"] = unit, ["unitPrice"] = unitPrice,
                ["quantity"] = 0m, ["micros"] = 0L, ["priced"] = unitPrice is not null || unit == "reported cost",
            };
            lines[key] = line;
        }
        line["quantity"] = (decimal)line["quantity"]! + quantity;
        line["micros"] = (long)line["micros"]! + micros;
    }
}

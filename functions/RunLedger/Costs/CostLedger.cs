using System.Globalization;
using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Costs;

/// <summary>
/// Turns a report's usage into a cost row and keeps the run's totals and invoice lines in step,
/// in the same transaction as the event: a redelivered report can never count twice, and totals
/// always equal the sum of the rows.
/// </summary>
public static class CostLedger
{
    public const string Computed = "computed";
    public const string Reported = "reported";
    public const string Unpriced = "unpriced";
    public const string Project = "project";

    /// <summary>
    /// The cost row of a report's <paramref name="usage"/> (the run's event <paramref name="sequence"/>,
    /// dated <paramref name="reportedAt"/>), priced from <paramref name="pricing"/> (the price book);
    /// also adds it to the run's totals and lines.
    /// </summary>
    public static TableEntity Record(RunRecord run, string eventId, string agent, JsonObject usage, DateTimeOffset reportedAt,
        long sequence, DateTimeOffset now, PricingTable pricing)
    {
        var row = new JsonObject
        {
            ["seq"] = sequence,
            ["eventId"] = eventId,
            ["agent"] = agent,
            ["model"] = (string?)usage["model"],
            ["usage"] = usage.DeepClone(),
        };
        Price(row, reportedAt, pricing, PricingTable.OfConfig(run.Document["configSnapshot"]), keepReported: true);
        var cost = (long)row["costMicros"]!;
        if (cost > MaxReportCostMicros)
        {
            throw Http.LedgerException.BadRequest(
                $"The report's cost, {Money.Exact(cost)} USD, is over the most one report may cost ({Money.Exact(MaxReportCostMicros)} USD).");
        }
        row["reportedAt"] = RunRules.Timestamp(reportedAt);
        row["recordedAt"] = RunRules.Timestamp(now);

        AddRowLines(Lines(run.Costs), row);
        var totals = run.Costs;
        totals["totalCostMicros"] = checked(((long?)totals["totalCostMicros"] ?? 0) + cost);
        totals["totalTokens"] = checked(((long?)totals["totalTokens"] ?? 0) + (long)row["tokens"]!);
        if ((string)row["priceSource"]! == Unpriced) totals["unpricedSteps"] = ((long?)totals["unpricedSteps"] ?? 0) + 1;
        ShowTotals(run);

        var entity = new TableEntity(run.ProjectId, Keys.CostRow(run.RunId, sequence)) { ["CostMicros"] = cost };
        DocumentColumns.Write(entity, row);
        return entity;
    }

    /// <summary>
    /// Prices a cost row's <c>usage</c> (dated <paramref name="at"/>) and sets its <c>parts</c>,
    /// <c>tokens</c>, <c>costUsd</c>, <c>costMicros</c>, <c>priceSource</c>, <c>computedCostUsd</c>
    /// and <c>pricedWith</c>: each unit at the project's negotiated rate (<paramref name="negotiated"/>)
    /// when it names one, else the book's. The agent's own <c>costUsd</c> is the cost when
    /// <paramref name="keepReported"/> (always when recording; a reprice keeps it unless told otherwise
    /// and a price is known).
    /// </summary>
    public static void Price(JsonObject row, DateTimeOffset at, PricingTable pricing, PricingTable? negotiated, bool keepReported)
    {
        var usage = row["usage"]!.AsObject();
        var model = (string?)usage["model"];
        var book = pricing.FindWithId(model, at);
        var project = negotiated?.FindWithId(model, at);
        var reported = usage["costUsd"] is { } c ? Money.ToMicros((decimal)c) : (long?)null;

        var parts = new JsonArray();
        long computed = 0, tokens = 0;
        var anyPriced = false;
        var fromProject = false;
        foreach (var unit in UsageUnit.All)
        {
            if (usage[unit.Figure] is not { } figure) continue;
            var quantity = (decimal)figure;
            if (unit.IsTokens) tokens += (long)quantity;
            decimal? projectPrice = project is { } n && n.Prices.Prices.TryGetValue(unit.Figure, out var np) ? np : null;
            decimal? unitPrice = projectPrice ?? (book is { } b && b.Prices.Prices.TryGetValue(unit.Figure, out var p) ? p : null);
            fromProject |= projectPrice is not null;
            var micros = unitPrice is { } price ? Money.ToMicros(quantity * price / unit.Per) : 0;
            anyPriced |= unitPrice is not null;
            computed = checked(computed + micros);
            parts.Add(new JsonObject
            {
                ["figure"] = unit.Figure, ["quantity"] = quantity, ["unit"] = unit.Label,
                ["unitPrice"] = unitPrice, ["costUsd"] = Money.Exact(micros),
            });
        }

        var useReported = reported is not null && (keepReported || !anyPriced);
        var source = useReported ? Reported : fromProject ? Project : anyPriced ? Computed : Unpriced;
        var cost = useReported ? reported!.Value : computed;
        row["parts"] = parts;
        row["tokens"] = tokens;
        row["costUsd"] = Money.Exact(cost);
        row["costMicros"] = cost;
        row["priceSource"] = source;
        row["computedCostUsd"] = anyPriced ? Money.Exact(computed) : null;
        // Which prices were used, so any figure can be traced: the entry and the date its prices took effect.
        row["pricedWith"] = new JsonObject
        {
            ["project"] = project is { } projectEntry ? Trace(projectEntry) : null,
            ["book"] = book is { } bookEntry ? Trace(bookEntry) : null,
        };
    }

    /// <summary>A run's totals and invoice lines made again from all its cost rows (after a reprice).</summary>
    public static void Recount(RunRecord run, IEnumerable<JsonObject> rows)
    {
        var lines = new JsonObject();
        long total = 0, tokens = 0, unpriced = 0;
        foreach (var row in rows)
        {
            AddRowLines(lines, row);
            total = checked(total + (long)row["costMicros"]!);
            tokens = checked(tokens + (long?)row["tokens"] ?? 0);
            if ((string?)row["priceSource"] == Unpriced) unpriced++;
        }
        run.Costs["lines"] = lines;
        run.Costs["totalCostMicros"] = total;
        run.Costs["totalTokens"] = tokens;
        if (unpriced > 0) run.Costs["unpricedSteps"] = unpriced; else run.Costs.Remove("unpricedSteps");
        run.Document.Remove("unpricedSteps");
        ShowTotals(run);
    }

    private static JsonObject Trace((string Id, PriceSet Prices) entry) =>
        new() { ["model"] = entry.Id, ["effective"] = RunRules.Timestamp(entry.Prices.Effective) };

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

    /// <summary>A run's markup: its config snapshot's (<see cref="MarkupRateOf"/>).</summary>
    public static decimal MarkupRate(JsonObject run) => MarkupRateOf(run["configSnapshot"]);

    /// <summary>A config's <c>invoice.markupRate</c> (checked when it was stored), else <see cref="DefaultMarkupRate"/>.</summary>
    public static decimal MarkupRateOf(JsonNode? config) =>
        config?["invoice"]?["markupRate"] is JsonValue v && v.TryGetValue(out decimal rate) ? rate : DefaultMarkupRate;

    private static JsonObject Lines(JsonObject totals) => (JsonObject)(totals["lines"] ??= new JsonObject());

    /// <summary>
    /// Adds a stored cost row's amounts to invoice lines (<see cref="Invoice.Build"/>), as
    /// <see cref="Record"/> added them to its run's: one line per agent, model, unit and price.
    /// </summary>
    public static void AddRowLines(JsonObject lines, JsonObject row)
    {
        var agent = (string)row["agent"]!;
        var model = (string?)row["model"];
        if ((string?)row["priceSource"] == Reported)
        {
            AddToLine(lines, agent, model, "reported cost", 1, null, (long)row["costMicros"]!);
            return;
        }
        foreach (var part in row["parts"] as JsonArray ?? [])
        {
            var micros = Money.ToMicros(decimal.Parse((string)part!["costUsd"]!, CultureInfo.InvariantCulture));
            AddToLine(lines, agent, model, (string)part["unit"]!, (decimal)part["quantity"]!, (decimal?)part["unitPrice"], micros);
        }
    }

    /// <summary>Adds an amount to the invoice line of <paramref name="agent"/>, <paramref name="model"/>, <paramref name="unit"/> and price.</summary>
    public static void AddToLine(JsonObject lines, string agent, string? model, string unit, decimal quantity, decimal? unitPrice, long micros, bool? priced = null)
    {
        var key = string.Join('|', agent, model ?? "", unit, unitPrice?.ToString(CultureInfo.InvariantCulture) ?? "");
        if (lines[key] is not JsonObject line)
        {
            line = new JsonObject
            {
                ["agent"] = agent, ["model"] = model, ["unit"] = unit, ["unitPrice"] = unitPrice,
                ["quantity"] = 0m, ["micros"] = 0L, ["priced"] = priced ?? (unitPrice is not null || unit == "reported cost"),
            };
            lines[key] = line;
        }
        line["quantity"] = (decimal)line["quantity"]! + quantity;
        line["micros"] = (long)line["micros"]! + micros;
    }
}

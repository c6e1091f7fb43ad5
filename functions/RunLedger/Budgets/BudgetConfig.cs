using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunLedger.Costs;
using RunLedger.Http;

namespace RunLedger.Budgets;

/// <summary>
/// <c>config.budget</c>: <c>{monthlyUsd, alertAt}</c>, a project's monthly spend limit and the
/// fractions of it that raise a <c>budget</c> callback (default 0.5, 0.8 and 1.0). Exact: the
/// limit is whole micro-dollars, each fraction has at most 4 decimals.
/// </summary>
public sealed record BudgetConfig(long MonthlyMicros, IReadOnlyList<decimal> AlertAt)
{
    public static readonly IReadOnlyList<decimal> DefaultAlertAt = [0.5m, 0.8m, 1.0m];

    /// <summary>$1,000,000,000 a month: far above any real budget, far below what a micro-dollar count can hold.</summary>
    public const decimal MaxMonthlyUsd = 1_000_000_000m;

    public const int MaxThresholds = 10;

    /// <summary>10 is 1,000% of the limit: alerts past the limit are allowed, unbounded ones are not.</summary>
    public const decimal MaxThreshold = 10m;

    private static readonly string[] Members = ["monthlyUsd", "alertAt"];

    /// <summary>A threshold as it appears in keys and answers: "0.5", "0.8", "1".</summary>
    public static string Name(decimal threshold) => threshold.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The spend (micro-dollars) at which <paramref name="threshold"/> is crossed: the exact product, rounded up.</summary>
    public long ThresholdMicros(decimal threshold) => (long)Math.Ceiling(MonthlyMicros * threshold);

    /// <summary>The budget of a config, checked (a 400 naming the first problem); null when it has none.</summary>
    public static BudgetConfig? Parse(JsonObject config, string path)
    {
        if (config["budget"] is not { } node) return null;
        var at = path.Length > 0 ? path + ".budget" : "budget";
        if (node is not JsonObject budget) throw LedgerException.BadRequest($"'{at}' must be a {{monthlyUsd, alertAt}} object.");
        foreach (var (name, _) in budget)
        {
            if (!Members.Contains(name)) throw LedgerException.BadRequest($"'{at}.{name}' is not a budget field; the fields are monthlyUsd and alertAt.");
        }
        var monthly = Number(budget["monthlyUsd"]);
        if (monthly is not { } limit || limit <= 0 || limit > MaxMonthlyUsd || decimal.Round(limit, 6) != limit)
        {
            throw LedgerException.BadRequest(
                $"'{at}.monthlyUsd' is required: a number of dollars above 0 and at most {MaxMonthlyUsd:0}, with at most 6 decimals.");
        }
        IReadOnlyList<decimal> alertAt = DefaultAlertAt;
        if (budget["alertAt"] is { } given)
        {
            if (given is not JsonArray list || list.Count is 0 or > MaxThresholds)
            {
                throw LedgerException.BadRequest($"'{at}.alertAt' must be a list of 1 to {MaxThresholds} fractions of the limit, e.g. [0.5, 0.8, 1.0].");
            }
            var values = new List<decimal>();
            foreach (var item in list)
            {
                if (Number(item) is not { } t || t <= 0 || t > MaxThreshold || decimal.Round(t, 4) != t)
                {
                    throw LedgerException.BadRequest(
                        $"'{at}.alertAt' may hold only numbers above 0 and at most {MaxThreshold} with at most 4 decimals (1.0 is the limit); got {item?.ToJsonString() ?? "null"}.");
                }
                if (values.Contains(t)) throw LedgerException.BadRequest($"'{at}.alertAt' names {Name(t)} twice.");
                values.Add(t);
            }
            alertAt = [.. values.Order()];
        }
        return new BudgetConfig(Money.ToMicros(limit), alertAt);
    }

    private static decimal? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal d) ? d : null;

    public JsonObject ToJson() => new()
    {
        ["monthlyUsd"] = Money.Exact(MonthlyMicros),
        ["alertAt"] = new JsonArray([.. AlertAt.Select(t => (JsonNode)JsonValue.Create(t))]),
    };

    public static BudgetConfig? FromJson(string? text)
    {
        if (string.IsNullOrEmpty(text) || JsonNode.Parse(text) is not JsonObject json) return null;
        return new BudgetConfig(
            Money.ToMicros(decimal.Parse((string)json["monthlyUsd"]!, CultureInfo.InvariantCulture)),
            [.. json["alertAt"]!.AsArray().Select(t => (decimal)t!)]);
    }
}

using System.Text.Json.Nodes;

namespace RunLedger.Costs;

/// <summary>
/// The cost-plus invoice of a run, built from its exact (micro-dollar) line totals.
/// </summary>
/// <remarks>
/// Rounding, once and only at presentation, to cents, half away from zero:
/// subtotal = round(sum of exact lines); each line shows its exact amount truncated to cents,
/// and the cents the truncation lost (subtotal minus the truncated sum) go one each to the
/// lines with the largest truncated remainders (ties: the earlier line), so the lines add up
/// to the subtotal exactly. markup = round(exact subtotal × markup rate); total = subtotal + markup.
/// </remarks>
public static class Invoice
{
    public const string RoundingRule =
        "Cents, half away from zero, once: subtotal = round(exact sum); lines truncated to cents with the remaining cents given to the largest remainders; markup = round(exact subtotal × rate); total = subtotal + markup.";

    public static JsonObject Build(JsonObject lines, decimal markupRate)
    {
        var ordered = lines.Select(l => l.Value!.AsObject())
            .OrderBy(l => (string)l["agent"]!, StringComparer.Ordinal)
            .ThenBy(l => (string?)l["model"] ?? "", StringComparer.Ordinal)
            .ThenBy(l => (string)l["unit"]!, StringComparer.Ordinal)
            .ThenBy(l => (decimal?)l["unitPrice"] ?? -1)
            .ToList();
        var micros = ordered.Select(l => (long)l["micros"]!).ToList();
        var subtotalMicros = micros.Sum();
        var cents = Allocate(micros, Money.ToCents(subtotalMicros));
        var subtotal = cents.Sum();
        var markup = Money.ToCents(subtotalMicros * markupRate);

        var items = new JsonArray();
        for (var i = 0; i < ordered.Count; i++)
        {
            var line = ordered[i];
            items.Add(new JsonObject
            {
                ["agent"] = line["agent"]!.DeepClone(),
                ["model"] = line["model"]?.DeepClone(),
                ["quantity"] = line["quantity"]!.DeepClone(),
                ["unit"] = line["unit"]!.DeepClone(),
                ["unitPrice"] = line["unitPrice"]?.DeepClone(),
                ["amount"] = Money.CentsToDollars(cents[i]),
                ["exactAmount"] = Money.Exact(micros[i]),
                ["priced"] = line["priced"]!.DeepClone(),
            });
        }
        return new JsonObject
        {
            ["currency"] = "USD",
            ["lineItems"] = items,
            ["subtotal"] = Money.CentsToDollars(subtotal),
            ["markupRate"] = markupRate,
            ["markup"] = Money.CentsToDollars(markup),
            ["total"] = Money.CentsToDollars(subtotal + markup),
            ["exactSubtotal"] = Money.Exact(subtotalMicros),
            ["rounding"] = RoundingRule,
        };
    }

    /// <summary>Largest-remainder allocation of <paramref name="targetCents"/> over non-negative micro amounts.</summary>
    public static long[] Allocate(IReadOnlyList<long> micros, long targetCents)
    {
        var cents = micros.Select(m => m / Money.MicrosPerCent).ToArray();
        var left = targetCents - cents.Sum();
        foreach (var i in Enumerable.Range(0, micros.Count)
                     .OrderByDescending(i => micros[i] % Money.MicrosPerCent)
                     .ThenBy(i => i)
                     .Take((int)Math.Max(0, left)))
        {
            cents[i]++;
        }
        return cents;
    }
}

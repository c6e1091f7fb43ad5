using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RunLedger.Costs;

/// <summary>A usage figure a report can carry, and how it is priced.</summary>
public sealed record UsageUnit(string Figure, string PriceField, decimal Per, string Label)
{
    public static readonly IReadOnlyList<UsageUnit> All =
    [
        new("inputTokens", "inputTokensPer1M", 1_000_000m, "1M input tokens"),
        new("cachedInputTokens", "cachedInputTokensPer1M", 1_000_000m, "1M cached input tokens"),
        new("outputTokens", "outputTokensPer1M", 1_000_000m, "1M output tokens"),
        new("characters", "charactersPer1K", 1_000m, "1K characters"),
        new("seconds", "secondsPerSecond", 1m, "second"),
        new("requests", "requestsPerRequest", 1m, "request"),
    ];

    /// <summary>Figures that count towards a run's <c>totalTokens</c>.</summary>
    public bool IsTokens => Figure.EndsWith("Tokens", StringComparison.Ordinal);
}

/// <summary>One model's prices from one date on: price per <see cref="UsageUnit.Per"/> units, by figure.</summary>
public sealed record PriceSet(DateTimeOffset Effective, IReadOnlyDictionary<string, decimal> Prices);

public sealed record ModelPricing(string Id, IReadOnlyList<string> Prefixes, IReadOnlyList<PriceSet> Prices);

/// <summary>
/// The model pricing table: shipped as <c>Costs/pricing.json</c>, overridable by a file of the
/// same shape (<c>RunLedger:PricingFile</c>) whose models replace or add to the shipped ones.
/// A model matches by exact id, else by the longest declared prefix.
/// </summary>
public sealed class PricingTable
{
    private readonly Dictionary<string, ModelPricing> _byId;
    private readonly List<(string Prefix, ModelPricing Model)> _byPrefix;

    public PricingTable(IEnumerable<ModelPricing> models)
    {
        _byId = models.ToDictionary(m => m.Id, StringComparer.OrdinalIgnoreCase);
        _byPrefix = _byId.Values
            .SelectMany(m => m.Prefixes.Select(p => (p, m)))
            .OrderByDescending(x => x.p.Length)
            .ToList();
    }

    public IReadOnlyCollection<ModelPricing> Models => _byId.Values;

    /// <summary>The prices in force for <paramref name="model"/> at <paramref name="at"/>, or null when unknown.</summary>
    public PriceSet? Find(string? model, DateTimeOffset at) => FindWithId(model, at)?.Prices;

    /// <summary>The prices in force for <paramref name="model"/> at <paramref name="at"/> and the id of the entry they come from.</summary>
    public (string Id, PriceSet Prices)? FindWithId(string? model, DateTimeOffset at)
    {
        if (string.IsNullOrEmpty(model)) return null;
        var pricing = _byId.GetValueOrDefault(model)
            ?? _byPrefix.FirstOrDefault(x => model.StartsWith(x.Prefix, StringComparison.OrdinalIgnoreCase)).Model;
        return pricing?.Prices.Where(p => p.Effective <= at).MaxBy(p => p.Effective) is { } prices ? (pricing.Id, prices) : null;
    }

    /// <summary>The most models a project's negotiated rates (<c>pricing.models</c>) may name.</summary>
    public const int MaxProjectModels = 200;

    /// <summary>
    /// A project's negotiated rates: <c>pricing.models</c> of its config (or a run's config
    /// snapshot), in the shape of <c>pricing.json</c>'s models; null when it names none.
    /// </summary>
    public static PricingTable? OfConfig(JsonNode? config)
    {
        if (config?["pricing"]?["models"] is not JsonArray models || models.Count == 0) return null;
        return new PricingTable(Parse(new JsonObject { ["models"] = models.DeepClone() }.ToJsonString(), "config"));
    }

    /// <summary>A 400 unless <c>pricing</c>, when given, is <c>{"models": [...]}</c> in the shape of <c>pricing.json</c>.</summary>
    public static void CheckProjectPricing(JsonObject config, string path)
    {
        if (config["pricing"] is not { } pricing) return;
        if (pricing is not JsonObject settings || settings.Any(m => m.Key != "models") || settings["models"] is not JsonArray models)
        {
            throw Http.LedgerException.BadRequest($"'{path}' must be an object with 'models': the project's prices, in the shape of pricing.json's models.");
        }
        if (models.Count > MaxProjectModels)
        {
            throw Http.LedgerException.BadRequest($"'{path}.models' names {models.Count} models; at most {MaxProjectModels}.");
        }
        try
        {
            var parsed = Parse(new JsonObject { ["models"] = models.DeepClone() }.ToJsonString(), path);
            if (parsed.GroupBy(m => m.Id, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                throw new InvalidDataException($"Pricing file {path}: model '{twice.Key}' is named twice.");
            }
            if (parsed.FirstOrDefault(m => m.Prices.Count == 0) is { } empty)
            {
                throw new InvalidDataException($"Pricing file {path}: model '{empty.Id}' has no prices.");
            }
        }
        catch (InvalidDataException e)
        {
            throw Http.LedgerException.BadRequest(e.Message.Replace("Pricing file ", "", StringComparison.Ordinal));
        }
    }

    public static PricingTable Load(string shippedPath, string? overridePath)
    {
        var models = Parse(File.ReadAllText(shippedPath), shippedPath).ToDictionary(m => m.Id, StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrEmpty(overridePath))
        {
            foreach (var model in Parse(File.ReadAllText(overridePath), overridePath)) models[model.Id] = model;
        }
        return new PricingTable(models.Values);
    }

    /// <summary>Parses a pricing document; prices may be JSON numbers or strings, read exactly as decimals.</summary>
    public static IReadOnlyList<ModelPricing> Parse(string json, string source)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw Invalid(source, "the document is not a JSON object");
        var list = root["models"] as JsonArray ?? throw Invalid(source, "'models' must be an array");
        return list.Select(node =>
        {
            var model = node as JsonObject ?? throw Invalid(source, "each model must be an object");
            var id = (string?)model["id"] ?? throw Invalid(source, "a model has no 'id'");
            var prefixes = (model["prefixes"] as JsonArray)?.Select(p => (string)p!).ToList() ?? [];
            var prices = (model["prices"] as JsonArray ?? throw Invalid(source, $"model '{id}' has no 'prices'"))
                .Select(p => ParsePriceSet(p as JsonObject ?? throw Invalid(source, $"model '{id}': each price must be an object"), id, source))
                .ToList();
            return new ModelPricing(id, prefixes, prices);
        }).ToList();
    }

    private static PriceSet ParsePriceSet(JsonObject price, string id, string source)
    {
        var effectiveText = (string?)price["effective"] ?? throw Invalid(source, $"model '{id}': a price has no 'effective' date");
        if (!DateTimeOffset.TryParse(effectiveText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var effective))
        {
            throw Invalid(source, $"model '{id}': 'effective' is not a date");
        }
        var prices = new Dictionary<string, decimal>();
        foreach (var unit in UsageUnit.All)
        {
            if (price[unit.PriceField] is not { } value) continue;
            var text = value.GetValueKind() == JsonValueKind.String ? (string)value! : value.ToJsonString();
            if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                throw Invalid(source, $"model '{id}': '{unit.PriceField}' is not a non-negative decimal");
            }
            prices[unit.Figure] = amount;
        }
        return new PriceSet(effective.ToUniversalTime(), prices);
    }

    private static InvalidDataException Invalid(string source, string why) => new($"Pricing file {source}: {why}.");
}

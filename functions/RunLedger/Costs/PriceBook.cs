using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Http;
using RunLedger.Ledger;

namespace RunLedger.Costs;

/// <summary>
/// The price book: the shipped <c>pricing.json</c> (or <c>RunLedger:PricingFile</c>) as the
/// default, and models an admin added or changed through the API, each replacing the default
/// entry of the same id. Stored models are rows of <see cref="Keys.PricingPartition"/>.
/// </summary>
/// <remarks>
/// Each instance keeps the book it read for <see cref="RefreshAfter"/>: pricing a report costs no
/// storage request, and a change made on one instance prices reports on the others within that
/// time (the instance that made it, at once). One query of the partition per refresh.
/// </remarks>
public sealed class PriceBook(PricingTable shipped, LedgerStorage storage, TimeProvider clock)
{
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);

    private (DateTimeOffset ReadAt, Task<Book> Book)? _cached;
    private readonly Lock _gate = new();

    /// <summary>The book, and which models came from the API.</summary>
    /// <summary>The book, which models came from the API, and its version: a hash of every price in it.</summary>
    public sealed record Book(PricingTable Table, IReadOnlyDictionary<string, DateTimeOffset> Stored, string Version);

    /// <summary>The book in force: cached, read again after <see cref="RefreshAfter"/>.</summary>
    public async Task<PricingTable> CurrentAsync(CancellationToken cancellationToken) => (await BookAsync(cancellationToken)).Table;

    public Task<Book> BookAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            if (_cached is { } cached && now - cached.ReadAt < RefreshAfter && !cached.Book.IsFaulted && !cached.Book.IsCanceled) return cached.Book;
            // Shared by every caller until the next refresh: not cancelled with the request that started it.
            var read = ReadAsync(CancellationToken.None);
            _cached = (now, read);
            return read;
        }
    }

    private async Task<Book> ReadAsync(CancellationToken cancellationToken)
    {
        var models = shipped.Models.ToDictionary(m => m.Id, StringComparer.OrdinalIgnoreCase);
        var stored = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.PricingPartition}");
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            var model = PricingTable.Parse(new JsonObject { ["models"] = new JsonArray(DocumentColumns.Read(row)) }.ToJsonString(), "the price book")[0];
            models[model.Id] = model;
            stored[model.Id] = row.Timestamp ?? default;
        }
        var table = new PricingTable(models.Values);
        return new Book(table, stored, Keys.Hash(Describe(table).ToJsonString())[..12]);
    }

    /// <summary>
    /// Adds or replaces one model's entry: <c>{"prefixes": [...], "prices": [{"effective": ..., unit prices}]}</c>,
    /// the shape of one model in <c>pricing.json</c>. Past reports keep their cost rows; the new
    /// prices apply to reports priced from now on, by their dates.
    /// </summary>
    public async Task<JsonObject> PutModelAsync(string modelId, JsonObject body, CancellationToken cancellationToken)
    {
        if (Keys.Problem("modelId", modelId) is { } problem) throw LedgerException.BadRequest(problem);
        if (body.Select(m => m.Key).FirstOrDefault(k => k is not ("id" or "prefixes" or "prices")) is { } unknown)
        {
            throw LedgerException.BadRequest($"'{unknown}' is not a member of a model's prices: prefixes, prices.");
        }
        if (body["id"] is { } id && (id.GetValueKind() != System.Text.Json.JsonValueKind.String || !string.Equals((string?)id, modelId, StringComparison.OrdinalIgnoreCase)))
        {
            throw LedgerException.BadRequest($"'id' must be the model id of the address, '{modelId}', or absent.");
        }
        var model = new JsonObject { ["id"] = modelId, ["prefixes"] = body["prefixes"]?.DeepClone() ?? new JsonArray(), ["prices"] = body["prices"]?.DeepClone() };
        var check = new JsonObject { ["pricing"] = new JsonObject { ["models"] = new JsonArray(model.DeepClone()) } };
        PricingTable.CheckProjectPricing(check, "body");
        var entity = new TableEntity(Keys.PricingPartition, Keys.PriceModelRow(modelId));
        DocumentColumns.Write(entity, model);
        await storage.Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        lock (_gate) _cached = null;
        return model;
    }

    /// <summary>The book as <c>GET /api/pricing</c> shows it: every model, where it comes from, and the book's version.</summary>
    public async Task<JsonObject> ShowAsync(CancellationToken cancellationToken)
    {
        var book = await BookAsync(cancellationToken);
        var models = Describe(book.Table);
        foreach (var model in models)
        {
            model!["source"] = book.Stored.ContainsKey((string)model["id"]!) ? "api" : "file";
        }
        return new JsonObject { ["version"] = book.Version, ["models"] = models };
    }

    private static JsonArray Describe(PricingTable table) =>
        new([.. table.Models.OrderBy(m => m.Id, StringComparer.OrdinalIgnoreCase).Select(m => (JsonNode)new JsonObject
        {
            ["id"] = m.Id,
            ["prefixes"] = new JsonArray([.. m.Prefixes.Select(p => (JsonNode)p)]),
            ["prices"] = new JsonArray([.. m.Prices.OrderBy(p => p.Effective).Select(p => (JsonNode)PricesJson(p))]),
        })]);

    private static JsonObject PricesJson(PriceSet prices)
    {
        var json = new JsonObject { ["effective"] = Runs.RunRules.Timestamp(prices.Effective) };
        foreach (var unit in UsageUnit.All)
        {
            if (prices.Prices.TryGetValue(unit.Figure, out var price)) json[unit.PriceField] = price.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return json;
    }
}

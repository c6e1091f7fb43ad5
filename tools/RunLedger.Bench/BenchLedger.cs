using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Hosting;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Runs;

namespace RunLedger.Bench;

/// <summary>
/// A ledger of a benchmark's own: unique table and queues on the benchmark's Azurite, the app's
/// services built by <see cref="LedgerServices.Build"/>, deleted again on dispose.
/// </summary>
public sealed class BenchLedger : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private BenchLedger(Dictionary<string, string?> settings)
    {
        Settings = settings;
        _services = LedgerServices.Build(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    /// <summary>The settings in configuration form (<c>RunLedger:TableName</c>, ...).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    /// <summary>The same settings as app settings (<c>RunLedger__TableName</c>), for a Functions host.</summary>
    public Dictionary<string, string?> AppSettings =>
        Settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);

    public LedgerStorage Storage => Get<LedgerStorage>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public static async Task<BenchLedger> CreateAsync(string connectionString, string prefix, params (string Key, string? Value)[] more)
    {
        string Unique() => Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            // The local host runs as Azure does (Production) unless told; the bench runs the open API, as ./run.sh does.
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["RunLedger:TableName"] = prefix + Unique(),
            ["RunLedger:JobsQueue"] = $"{prefix}-jobs-{Unique()}",
            ["RunLedger:ProgressQueue"] = $"{prefix}-progress-{Unique()}",
            ["RunLedger:CallbacksQueue"] = $"{prefix}-callbacks-{Unique()}",
            // The host needs the timers' schedules; none comes during a benchmark.
            ["RunLedger:StaleSweepSchedule"] = "0 0 0 1 1 *",
            ["RunLedger:RetentionSchedule"] = "0 0 0 1 1 *",
        };
        foreach (var (key, value) in more) settings[key] = value;
        var ledger = new BenchLedger(settings);
        await ledger.Storage.CreateIfNotExistsAsync(default);
        return ledger;
    }

    /// <summary>Starts a run with the given ids, as the start webhook does.</summary>
    public Task<RunRecord> StartRunAsync(string projectId, string runId, string extra = "") =>
        Get<PipelineStarter>().StartAsync(
            StartRequest.Parse(JsonNode.Parse($$"""{"projectId":"{{projectId}}","runId":"{{runId}}"{{extra}}}""")!.AsObject()), null, default);

    public async ValueTask DisposeAsync()
    {
        await Storage.DeleteAsync();
        await _services.DisposeAsync();
    }
}

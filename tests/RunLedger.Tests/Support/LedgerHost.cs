using System.Reflection;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using FunctionsHost;
using FunctionsHost.Testing;
using RunLedger.Ledger;
using RunLedger.Tests.Packaging;

namespace RunLedger.Tests.Support;

/// <summary>
/// The real Run Ledger worker under the local Functions host, against the shared Azurite, with
/// its own table and queues. Started once per test class (a class fixture); tests isolate
/// themselves by project id (<see cref="LedgerTest.P"/>). A derived fixture changes settings.
/// </summary>
public class LedgerHost : IAsyncLifetime
{
    private FunctionsHostHarness? _harness;
    private Azurite.Endpoints? _azurite;
    private LedgerStorage? _storage;

    public string TableName { get; } = Names.Table("runs");
    public string JobsQueue { get; } = Names.Queue("jobs");
    public string ProgressQueue { get; } = Names.Queue("progress");
    public string CallbacksQueue { get; } = Names.Queue("callbacks");

    /// <summary>The worker's build output (functions.metadata, RunLedger.dll), from the test build.</summary>
    public static string AppDirectory { get; } = typeof(LedgerHost).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RunLedgerAppDirectory").Value!;

    /// <summary>The folder the host runs the worker from; a derived fixture may run a published package instead.</summary>
    protected virtual string WorkerDirectory => AppDirectory;

    /// <summary>host.json: the repository's (or one a derived fixture names), with <see cref="QueueSettings"/> laid over its <c>extensions.queues</c>.</summary>
    public string HostJson { get; protected set; } = RepoFiles.FullPath("host.json");

    /// <summary>host.json <c>extensions.queues</c> values a derived fixture changes (e.g. a short retry delay).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> QueueSettings => [];

    public FunctionsHostHarness Harness => _harness ?? throw new InvalidOperationException("The host is not started.");

    public HttpClient Client => Harness.Client;

    public string ConnectionString => _azurite!.ConnectionString;

    /// <summary>This host's storage, reached through the app's own client registration.</summary>
    public LedgerStorage Storage => _storage ??= TestStorage.For(ConnectionString, TableName, JobsQueue, ProgressQueue, callbacks: CallbacksQueue);

    public TableClient Table => Storage.Table;
    public QueueClient Jobs => Storage.Jobs;
    public QueueClient Progress => Storage.Progress;
    public QueueClient ProgressPoison => Storage.ProgressPoison;
    public QueueClient Callbacks => Storage.Callbacks;

    /// <summary>A queue of this host without message encoding: text goes on and comes off exactly as stored.</summary>
    public QueueClient Raw(string queueName) => new(ConnectionString, queueName);

    /// <summary>A CRON schedule that does not come while tests run (midnight of January 1st).</summary>
    public const string NeverDuringATest = "0 0 0 1 1 *";

    /// <summary>Settings a derived fixture adds or replaces.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> MoreSettings => [];

    /// <summary>How long the host hides a queue message while its function runs (the host's 10 minutes unless a derived fixture shortens it).</summary>
    protected virtual TimeSpan? QueueMessageLease => null;

    public virtual async Task InitializeAsync()
    {
        _azurite = await Azurite.GetAsync();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
            // As Core Tools and local.settings.sample.json run it; ProductionAccessTests runs it as Azure does.
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["AzureWebJobsStorage"] = ConnectionString,
            ["RunLedger__TableName"] = TableName,
            ["RunLedger__JobsQueue"] = JobsQueue,
            ["RunLedger__ProgressQueue"] = ProgressQueue,
            ["RunLedger__CallbacksQueue"] = CallbacksQueue,
            // The host needs the timers' schedules; tests fire the timers through the admin API.
            ["RunLedger__StaleSweepSchedule"] = NeverDuringATest,
            ["RunLedger__RetentionSchedule"] = NeverDuringATest,
        };
        foreach (var (key, value) in MoreSettings) settings[key] = value;
        if (QueueSettings.Any())
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(HostJson))!;
            foreach (var (key, value) in QueueSettings) json["extensions"]!["queues"]![key] = value;
            HostJson = Path.Combine(Path.GetTempPath(), $"host-{TableName}.json");
            await File.WriteAllTextAsync(HostJson, json.ToJsonString());
        }
        // The progress queue must exist before the host starts listening on it.
        await Storage.CreateIfNotExistsAsync(default);
        var options = new FunctionsHostOptions
        {
            AppDirectory = WorkerDirectory,
            HostJsonPath = HostJson,
            Settings = settings,
        };
        if (QueueMessageLease is { } lease) options = options with { QueueMessageLease = lease };
        _harness = await FunctionsHostHarness.StartAsync(options);
    }

    /// <summary>Puts a report on the progress queue as agents do (base64 JSON).</summary>
    public Task SendProgressAsync(string json) => Progress.SendMessageAsync(json);

    /// <summary>Waits until the progress queue is empty and nothing from it is being handled.</summary>
    public Task ProgressDrainedAsync(TimeSpan? timeout = null) => Harness.WaitForQueueDrainedAsync(ProgressQueue, timeout ?? TimeSpan.FromSeconds(60));

    public virtual async Task DisposeAsync()
    {
        if (_harness is not null) await _harness.DisposeAsync();
        if (_azurite is null) return;
        await Storage.DeleteAsync();
    }
}

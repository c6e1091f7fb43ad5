using System.Text.Json.Nodes;
using RunLedger.Pipelines;
using RunLedger.Runs;

namespace RunLedger.Tests.Support;

/// <summary>
/// Base for tests that call the app's functions and handlers directly, in process, with their own
/// storage (for counting storage requests or injecting storage faults into the SDK's pipeline).
/// </summary>
public abstract class ComponentTest : IAsyncLifetime
{
    protected LedgerComponents App { get; } = new();

    public virtual Task InitializeAsync() => App.InitializeAsync();

    public virtual Task DisposeAsync() => App.DisposeAsync();

    protected Task<JsonObject> StartAsync(string json, string? idempotencyKey = null) =>
        LedgerComponents.BodyAsync(App.Functions<PipelinesFunctions>().StartPipeline(
            idempotencyKey is null ? LedgerComponents.Request(body: json) : LedgerComponents.Request(body: json, headers: ("Idempotency-Key", idempotencyKey)),
            default));

    protected Task<JsonObject> GetRunAsync(string projectId, string runId) =>
        LedgerComponents.BodyAsync(App.Functions<RunsFunctions>().GetRun(LedgerComponents.Request(), projectId, runId, default));
}

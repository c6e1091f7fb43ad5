using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Pipelines;

/// <summary>
/// Starts pipelines: creates the run (queued) with its ids, seed data and config snapshot, then
/// hands the job to agents through the jobs queue. Retries are safe: an Idempotency-Key or a
/// caller-supplied runId finds the first run, and a job that was not sent the first time is sent.
/// </summary>
public sealed partial class PipelineStarter(
    RunStore runs,
    LedgerStorage storage,
    Projects.ProjectConfigs configs,
    TimeProvider clock,
    ILogger<PipelineStarter> logger)
{
    /// <summary>A queue message may be 64 KiB as sent; base64 leaves 48 KiB of JSON.</summary>
    public const int MaxJobBytes = 48 * 1024;

    private const int MaxIdAttempts = 10;

    public async Task<RunRecord> StartAsync(StartRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is not null
            && await runs.GetIdempotentRunIdAsync(request.ProjectId, idempotencyKey, cancellationToken) is { } earlierRunId)
        {
            return await ReplayAsync(request, earlierRunId, byIdempotencyKey: true, cancellationToken);
        }
        if (request.RunId is not null && await runs.GetAsync(request.ProjectId, request.RunId, cancellationToken) is { } existing)
        {
            return await ReplayAsync(request, existing, byIdempotencyKey: false, cancellationToken);
        }

        var now = clock.GetUtcNow();
        var stored = await configs.GetAsync(request.ProjectId, cancellationToken);
        var merged = JsonMerge.Merge(stored, request.Config);
        // The snapshot is what the run will bill, call back with and alert on: checked as a whole.
        configs.Check(merged, "config");
        // Secrets stay out of the run (and of the job agents receive): a row of their own.
        var (snapshot, secrets) = Callbacks.CallbackConfig.Split(merged);
        var dossierId = request.DossierId ?? RunIds.NewDossierId(now);

        for (var attempt = 0; ; attempt++)
        {
            var runId = request.RunId ?? RunIds.NewRunId(now, attempt);
            var run = NewRun(request, runId, dossierId, snapshot, now);
            try
            {
                await runs.CreateAsync(run, idempotencyKey, cancellationToken,
                    secrets is null ? null : [new TableEntity(run.ProjectId, Keys.CallbackSecretsRow(runId)) { ["Secrets"] = secrets.ToJsonString() }]);
                LogStarted(logger, run.ProjectId, run.RunId);
                await DispatchAsync(run, cancellationToken);
                return run;
            }
            catch (TableTransactionFailedException e) when (e.Status == StatusCodes.Status409Conflict)
            {
                // Someone else got there first: a concurrent retry of this request, or another
                // start that took the same generated id in the same second.
                if (e.FailedTransactionActionIndex == RunStore.IdempotencyActionIndex
                    && await runs.GetIdempotentRunIdAsync(request.ProjectId, idempotencyKey!, cancellationToken) is { } raced)
                {
                    return await ReplayAsync(request, raced, byIdempotencyKey: true, cancellationToken);
                }
                if (request.RunId is not null)
                {
                    return await ReplayAsync(request, request.RunId, byIdempotencyKey: false, cancellationToken);
                }
                if (attempt + 1 >= MaxIdAttempts) throw;
            }
        }
    }

    private async Task<RunRecord> ReplayAsync(StartRequest request, string runId, bool byIdempotencyKey, CancellationToken cancellationToken) =>
        await ReplayAsync(request,
            await runs.GetAsync(request.ProjectId, runId, cancellationToken)
                ?? throw new InvalidOperationException("Idempotency record points at a run that does not exist."),
            byIdempotencyKey, cancellationToken);

    private async Task<RunRecord> ReplayAsync(StartRequest request, RunRecord run, bool byIdempotencyKey, CancellationToken cancellationToken)
    {
        var runId = run.RunId;
        if (run.RequestHash != request.ContentHash)
        {
            throw byIdempotencyKey
                ? LedgerException.Unprocessable(
                    $"This Idempotency-Key was first used for run '{runId}' with a different body; use a new key for a new request.")
                : LedgerException.Conflict(
                    $"Run '{runId}' already exists in project '{request.ProjectId}' and was started with a different body.");
        }
        if (!run.JobDispatched)
        {
            await DispatchAsync(run, cancellationToken);
        }
        return run;
    }

    private static RunRecord NewRun(StartRequest request, string runId, string dossierId, JsonObject snapshot, DateTimeOffset now)
    {
        var created = RunRules.Timestamp(now);
        var document = new JsonObject
        {
            ["projectId"] = request.ProjectId,
            ["runId"] = runId,
            ["dossierId"] = dossierId,
            ["status"] = RunStatus.Queued,
            ["step"] = "queued",
            ["message"] = "Pipeline queued",
            ["progress"] = 0,
            ["triggeredBy"] = request.TriggeredBy,
            ["createdAt"] = created,
            ["updatedAt"] = created,
            ["seedData"] = request.SeedData.DeepClone(),
            ["configSnapshot"] = snapshot.DeepClone(),
            ["totalTokens"] = 0,
            ["totalCost"] = 0.0000m,
            ["totalCostMicros"] = 0,
        };
        return new RunRecord
        {
            ProjectId = request.ProjectId,
            RunId = runId,
            Document = document,
            IndexRowKey = Keys.IndexRow(now, runId),
            RequestHash = request.ContentHash,
        };
    }

    private async Task DispatchAsync(RunRecord run, CancellationToken cancellationToken)
    {
        await storage.Jobs.SendMessageAsync(JobMessage(run), cancellationToken);
        await runs.MarkDispatchedAsync(run, cancellationToken);
        LogDispatched(logger, run.ProjectId, run.RunId);
    }

    /// <summary>
    /// The job agents receive. Seed data and config travel with it when they fit in a queue
    /// message; otherwise <c>payloadOmitted</c> is true and agents read them from the run.
    /// </summary>
    public static string JobMessage(RunRecord run)
    {
        var d = run.Document;
        var job = new JsonObject
        {
            ["projectId"] = run.ProjectId,
            ["runId"] = run.RunId,
            ["dossierId"] = d["dossierId"]?.DeepClone(),
            ["statusUrl"] = RunIds.StatusPath(run.ProjectId, run.RunId),
            ["seedData"] = d["seedData"]?.DeepClone(),
            ["config"] = d["configSnapshot"]?.DeepClone(),
        };
        var text = job.ToJsonString();
        if (Encoding.UTF8.GetByteCount(text) <= MaxJobBytes) return text;

        job.Remove("seedData");
        job.Remove("config");
        job["payloadOmitted"] = true;
        return job.ToJsonString();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Run {RunId} of project {ProjectId} created")]
    private static partial void LogStarted(ILogger logger, string projectId, string runId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Job for run {RunId} of project {ProjectId} sent to agents")]
    private static partial void LogDispatched(ILogger logger, string projectId, string runId);
}

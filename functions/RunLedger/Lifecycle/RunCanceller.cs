using Azure.Data.Tables;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Lifecycle;

/// <summary>
/// Cancels runs: a queued or running run becomes <c>cancelled</c> (final) with an event in its
/// history, in one transaction on its ETag. Cancelling a cancelled run answers the run as it is
/// (a retry must not fail); cancelling a completed or failed run is a 409.
/// </summary>
public sealed partial class RunCanceller(
    RunStore runs, RunSignals signals, TimeProvider clock, ILogger<RunCanceller> logger)
{
    public const int MaxReasonLength = 1000;

    /// <returns>The run, and whether this call cancelled it (false when it already was).</returns>
    public async Task<(RunRecord Run, bool Cancelled)> CancelAsync(string projectId, string runId, string? reason, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var run = await runs.GetExistingAsync(projectId, runId, cancellationToken);
            if (run.Status == RunStatus.Cancelled) return (run, false);
            if (RunStatus.IsTerminal(run.Status))
            {
                throw LedgerException.Conflict(
                    $"Run '{runId}' is '{run.Status}', which is final: only a queued or running run can be cancelled.");
            }

            var now = clock.GetUtcNow();
            var doc = run.Document;
            doc["status"] = RunStatus.Cancelled;
            doc["completedAt"] = RunRules.Timestamp(now);
            doc["updatedAt"] = RunRules.Timestamp(now);
            doc["message"] = reason is null ? "Cancelled" : "Cancelled: " + reason;
            if (reason is not null) doc["cancelReason"] = reason;
            Costs.CostLedger.ShowTotals(run);
            var evt = LedgerEvents.Next(run, RunStatus.Cancelled, (string)doc["message"]!, now);
            try
            {
                await runs.SaveAsync(run, [evt], cancellationToken);
                LogCancelled(logger, projectId, runId);
                signals.Notify(projectId, runId);
                return (run, true);
            }
            catch (TableTransactionFailedException e) when (e.Status == StatusCodes.Status412PreconditionFailed && attempt < Contention.MaxAttempts)
            {
                // A report or PATCH changed the run meanwhile: re-read and decide again.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Run {RunId} of project {ProjectId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string projectId, string runId);
}

using Azure;
using Azure.Data.Tables;
using RunLedger.Http;
using RunLedger.Ledger;

using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// Applies a validated partial run. Without <c>If-Match</c>, a concurrent change makes the save
/// fail on the ETag and the patch is re-applied to the fresh run, so no writer's update is lost.
/// </summary>
public sealed class RunPatcher(RunStore store, Costs.CostProjection projection, TimeProvider clock)
{
    private bool ChangesAnything(System.Text.Json.Nodes.JsonObject document, System.Text.Json.Nodes.JsonObject patch)
    {
        var probe = document.DeepClone().AsObject();
        var stamp = probe["updatedAt"]?.DeepClone();
        RunRules.Apply(probe, patch, clock.GetUtcNow()); // a backwards status throws its own 409
        probe["updatedAt"] = stamp;
        RunRules.Canonicalize(probe);
        var current = document.DeepClone().AsObject();
        RunRules.Canonicalize(current);
        return !System.Text.Json.Nodes.JsonNode.DeepEquals(probe, current);
    }

    private static LedgerException FinalRun(RunRecord run) => LedgerException.Conflict(
        $"The run is '{run.Status}', which is final: it changes no more, by PATCH as by agent reports (those are kept in its history only).");

    public async Task<RunRecord> PatchAsync(string projectId, string runId, System.Text.Json.Nodes.JsonObject patch, string? ifMatch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var run = await store.GetExistingAsync(projectId, runId, cancellationToken);
            if (ifMatch is not null && ifMatch != "*" && new ETag(ifMatch) != run.ETag)
            {
                throw LedgerException.PreconditionFailed(
                    $"Run '{runId}' has changed since ETag {ifMatch} was read; GET it again and re-apply the change.");
            }
            var wasTerminal = RunStatus.IsTerminal(run.Status);
            if (wasTerminal)
            {
                // A final run changes no more, by PATCH as by reports; a PATCH that would change
                // nothing (a retry of the one that finished it) is answered as it was.
                if (ChangesAnything(run.Document, patch)) throw FinalRun(run);
                return run;
            }
            // Status forward only; the other fields merge with the clock of now, like a report dated now.
            var now = clock.GetUtcNow();
            RunRules.ApplyStatus(run.Document, patch, now);
            ReportEffects.ApplyPatch(run, RunRules.WithoutStatus(patch), now);
            run.Document["updatedAt"] = RunRules.Timestamp(now);
            if (!wasTerminal && RunStatus.IsTerminal(run.Status)) Costs.CostLedger.ShowTotals(run);
            try
            {
                await store.SaveAsync(run, null, cancellationToken);
                await projection.SyncAsync(run, cancellationToken);
                return run;
            }
            catch (TableTransactionFailedException e) when (e.Status == StatusCodes.Status412PreconditionFailed)
            {
                if (ifMatch is not null && ifMatch != "*")
                {
                    throw LedgerException.PreconditionFailed($"Run '{runId}' changed while the patch was applied; GET it again.");
                }
                if (attempt >= Contention.MaxAttempts) throw;
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }
}

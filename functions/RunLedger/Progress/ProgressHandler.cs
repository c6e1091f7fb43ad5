using System.Text.Json.Nodes;
using RunLedger.Costs;
using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Progress;

public enum ReportOutcome
{
    /// <summary>The report became the run's next event.</summary>
    Applied,

    /// <summary>The report's event id was applied before; nothing changed.</summary>
    Duplicate,

    /// <summary>No such run (yet): queue deliveries retry, HTTP answers 404.</summary>
    RunNotFound,
}

/// <summary>What applying a report did, and the run's status after it (so an agent learns that the run was cancelled).</summary>
public readonly record struct ReportResult(ReportOutcome Outcome, long Sequence, string? RunStatus)
{
    public void Deconstruct(out ReportOutcome outcome, out long sequence)
    {
        outcome = Outcome;
        sequence = Sequence;
    }
}

/// <summary>
/// Applies agent reports to runs, exactly once in effect. One report costs one read of the run
/// and one entity-group transaction that replaces the run (conditioned on its ETag), updates its
/// index entry, and adds the event and its event-id marker, and a report with usage its cost row.
/// A cost of a budgeted run (<see cref="RunRecord.Budgeted"/>) or a late cost of a final run also
/// reads the project's budget row, after the run, and adds the new month-to-date spend (ETag too)
/// to that transaction, with any budget alerts it raises. A redelivered report fails on the
/// marker and changes nothing; a concurrent writer fails an ETag and the report is re-applied to
/// the fresh run and spend.
/// </summary>
public sealed partial class ProgressHandler(
    RunStore runs, EventStore events, PriceBook prices, CostProjection projection, Budgets.BudgetLedger budgets, RunSignals signals,
    TimeProvider clock, ILogger<ProgressHandler> logger)
{
    // Transaction layout: see SaveAsync (0 run, 1 index), then these.
    private const int EventIdAction = 2;

    public async Task<ReportResult> ApplyAsync(ProgressReport report, CancellationToken cancellationToken)
    {
        using var scope = RunScope(logger, report.ProjectId, report.RunId);
        using var activity = Telemetry.LedgerTelemetry.StartActivity("ApplyReport");
        activity?.SetTag("runledger.project_id", report.ProjectId);
        activity?.SetTag("runledger.run_id", report.RunId);
        activity?.SetTag("runledger.event_id", report.EventId);
        for (var attempt = 1; ; attempt++)
        {
            var run = await runs.GetAsync(report.ProjectId, report.RunId, cancellationToken);
            if (run is null || run.Purging)
            {
                // A run that retention is deleting is gone already: its event-id markers may be, so
                // a redelivered report could not be told from a new one and would count twice.
                LogRunNotFound(logger, report.EventId);
                return new(ReportOutcome.RunNotFound, 0, null);
            }

            var now = clock.GetUtcNow();
            var sequence = run.EventCount + 1;
            var wasTerminal = RunStatus.IsTerminal(run.Status);
            var storedStatus = run.Status;
            var before = CostProjection.Snapshot.Of(run);
            // A timestamp far outside the run's life (a wrong agent clock) must not pin fields or
            // set times before the run existed: it is replaced, and the agent's kept in the event.
            report = report.WithinWindow(CreatedAt(run));
            ReportEffects.Apply(run, report, now);
            if (ReportEffects.NeedsRebuild(run))
            {
                // Rare: reports dated after the final one were merged before it arrived.
                ReportEffects.Rebuild(run, [.. await HistoryAsync(run, cancellationToken), report]);
            }
            run.EventCount = sequence;

            var marker = new TableEntity(report.ProjectId, Keys.EventIdRow(report.RunId, report.EventId))
            {
                ["EventId"] = report.EventId,
                ["Seq"] = sequence,
            };
            var evt = new TableEntity(report.ProjectId, Keys.EventRow(report.RunId, sequence));
            DocumentColumns.Write(evt, report.EventUtf8(sequence, now));
            List<TableTransactionAction> rows = [new(TableTransactionActionType.Add, marker), new(TableTransactionActionType.Add, evt)];

            // Costs count whenever they arrive, even after the run is final; the invoice follows.
            var budgetAction = -1;
            List<Callbacks.CallbackRecord>? alerts = null;
            if (report.Usage is not null)
            {
                var costRow = CostLedger.Record(run, report.EventId, report.Agent, report.Usage, report.Timestamp, sequence, now,
                    await prices.CurrentAsync(cancellationToken));
                rows.Add(new(TableTransactionActionType.Add, costRow));
                // Only a budgeted run's costs (and late costs of final runs, which no budget turned
                // on marks) go through the project's budget row, which serializes them; a run
                // without the mark started, and stayed, while the project had no budget.
                if (costRow.GetInt64("CostMicros") is > 0 and var cost && (run.Budgeted != false || wasTerminal))
                {
                    var budget = await budgets.ReadAsync(report.ProjectId, cancellationToken);
                    var (spendRows, raised) = await budgets.CostActionsAsync(report.ProjectId, budget, cost, now, cancellationToken);
                    budgetAction = EventIdAction + rows.Count;
                    rows.AddRange(spendRows);
                    // The budget row's new value is the first spend row (AddAsync): what a final callback reports.
                    run.BudgetAfterSave = Budgets.BudgetLedger.View(spendRows[0].Entity as TableEntity, now);
                    alerts = raised;
                }
            }
            else if (!wasTerminal && RunStatus.IsTerminal(run.Status))
            {
                CostLedger.ShowTotals(run);
            }

            try
            {
                await runs.SaveAsync(run, rows, cancellationToken, callbacks: alerts);
                LogApplied(logger, report.EventId, sequence, run.Status);
                Telemetry.LedgerTelemetry.ReportApplied();
                signals.Notify(report.ProjectId, report.RunId);
                await projection.SyncAsync(run, cancellationToken);
                return new(ReportOutcome.Applied, sequence, run.Status);
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == EventIdAction)
            {
                LogDuplicate(logger, report.EventId);
                Telemetry.LedgerTelemetry.ReportDuplicate();
                // The first delivery may have stopped between the run and its analytics; finish that.
                if (before is not null) await projection.SyncAsync(before, cancellationToken);
                return new(ReportOutcome.Duplicate, 0, storedStatus);
            }
            catch (TableTransactionFailedException e) when (
                (e.Status == 412 || (e.Status == 409 && e.FailedTransactionActionIndex == budgetAction)) && attempt < Contention.MaxAttempts)
            {
                // Another report changed the run, or the project's spend, since we read it (or
                // created the month's spend row first): back off a little, re-read, re-apply.
                Telemetry.LedgerTelemetry.StorageRetry("etag-conflict");
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    /// <summary>Every report applied to the run so far, read back from its events.</summary>
    private async Task<List<ProgressReport>> HistoryAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var history = new List<ProgressReport>();
        long after = 0;
        while (true)
        {
            var (page, more) = await events.ListAsync(run.ProjectId, run.RunId, after, EventStore.MaxPageSize, cancellationToken);
            foreach (var evt in page)
            {
                after = (long)evt["seq"]!;
                // The ledger's own events (cancel, stale sweep) are not reports.
                if (Lifecycle.LedgerEvents.IsLedgerEvent(evt)) continue;
                history.Add(ProgressReport.Parse(evt, (string)evt["eventId"]!, DateTimeOffset.MinValue));
            }
            if (!more || page.Count == 0) return history;
        }
    }

    private static DateTimeOffset CreatedAt(RunRecord run) =>
        RunRules.ParseTimestamp(run.Document["createdAt"]) ?? DateTimeOffset.MinValue + ProgressReport.ClockSkew;

    /// <summary>The run every log line of applying a report is about, as <c>ProjectId</c> and <c>RunId</c>.</summary>
    private static readonly Func<ILogger, string, string, IDisposable?> RunScope =
        LoggerMessage.DefineScope<string, string>("Run {ProjectId}/{RunId}");

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Report {EventId} applied as event {Sequence}; run is {Status}")]
    private static partial void LogApplied(ILogger logger, string eventId, long sequence, string status);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Report {EventId} was applied before; ignored")]
    private static partial void LogDuplicate(ILogger logger, string eventId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Report {EventId} names a run that does not exist")]
    private static partial void LogRunNotFound(ILogger logger, string eventId);
}

/// <summary>A queue message's text, turned into a report or a reason it can never be one.</summary>
public static class QueueReports
{
    public static ProgressReport Parse(string text, string messageId, DateTimeOffset insertedAt)
    {
        var node = Http.JsonInput.Parse(text, "The message");
        // Some senders encode the JSON a second time, as a JSON string.
        if (node is JsonValue value && value.TryGetValue(out string? inner))
        {
            return Parse(inner, messageId, insertedAt);
        }
        return node is JsonObject obj
            ? ProgressReport.Parse(obj, messageId, insertedAt)
            : throw Http.LedgerException.BadRequest("The message must be a JSON object.");
    }
}

using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Lifecycle;

/// <summary>
/// Events the ledger itself adds to a run's history (a cancel, the stale sweep), numbered like
/// reports. They need no event-id marker: each is written with the run's ETag, so it is added once.
/// </summary>
public static class LedgerEvents
{
    public const string Agent = "ledger";

    /// <summary>The <c>source</c> of the ledger's own events; agents' events have none, so history replays skip these.</summary>
    public const string Source = "ledger";

    public static bool IsLedgerEvent(JsonObject e) => (string?)e["source"] == Source;

    /// <summary>The next event of the run (its count moves on) as a row for the run's transaction.</summary>
    public static TableTransactionAction Next(RunRecord run, string status, string message, DateTimeOffset now, string? error = null)
    {
        var sequence = ++run.EventCount;
        var e = new JsonObject
        {
            ["seq"] = sequence,
            ["eventId"] = FormattableString.Invariant($"ledger-{status}-{sequence}"),
            ["projectId"] = run.ProjectId,
            ["runId"] = run.RunId,
            ["agent"] = Agent,
            ["source"] = Source,
            ["status"] = status,
            ["message"] = message,
            ["runStatus"] = run.Status,
        };
        if (error is not null) e["error"] = error;
        e["timestamp"] = RunRules.Timestamp(now);
        e["recordedAt"] = RunRules.Timestamp(now);
        var row = new TableEntity(run.ProjectId, Keys.EventRow(run.RunId, sequence));
        DocumentColumns.Write(row, e);
        return new(TableTransactionActionType.Add, row);
    }
}

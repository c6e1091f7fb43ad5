using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Tests.Support;

/// <summary>
/// Records the table requests the app's storage clients send (queue messages left out), each as
/// method and what it touches: <c>run</c>, <c>counts</c>, <c>budget</c>, <c>config</c>, <c>idempotency</c> for
/// those rows, <c>$batch</c> for a transaction; for a query, <c>events</c> (a run's events), <c>alerts</c>
/// (budget alerts), <c>active runs</c> (the active-runs index), <c>costs</c> (cost rows); else the path.
/// </summary>
public sealed class StorageRequests : HttpPipelineSynchronousPolicy
{
    public List<string> Requests { get; } = [];

    /// <summary>Adds the recorder to every storage client of <paramref name="app"/>.</summary>
    public void Install(LedgerComponents app) => app.WithStoragePolicy(this);

    /// <summary>The requests so far, copied (the app may be adding to them).</summary>
    public List<string> Snapshot()
    {
        lock (Requests) return [.. Requests];
    }

    public void Clear()
    {
        lock (Requests) Requests.Clear();
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        var path = Uri.UnescapeDataString(message.Request.Uri.Path);
        if (path.Contains("/messages", StringComparison.Ordinal)) return;
        var query = Uri.UnescapeDataString(message.Request.Uri.Query);
        var what =
            path.EndsWith("$batch", StringComparison.Ordinal) ? "$batch"
            : path.Contains("run|", StringComparison.Ordinal) ? "run"
            : path.Contains("'counts'", StringComparison.Ordinal) ? "counts"
            : path.Contains("'budget'", StringComparison.Ordinal) ? "budget"
            : path.Contains("'config'", StringComparison.Ordinal) ? "config"
            : path.Contains("'idem|", StringComparison.Ordinal) ? "idempotency"
            : path.EndsWith("()", StringComparison.Ordinal) && query.Contains("'evt|", StringComparison.Ordinal) ? "events"
            : path.EndsWith("()", StringComparison.Ordinal) && query.Contains("cbb|", StringComparison.Ordinal) ? "alerts"
            : path.EndsWith("()", StringComparison.Ordinal) && query.Contains("'act|", StringComparison.Ordinal) ? "active runs"
            : path.EndsWith("()", StringComparison.Ordinal) && query.Contains("'cost|", StringComparison.Ordinal) ? "costs"
            : path;
        lock (Requests) Requests.Add($"{message.Request.Method} {what}");
    }
}

using System.Collections.Concurrent;

namespace RunLedger.Runs;

/// <summary>
/// Wakes this instance's poller of a run (<c>Progress/LiveRuns</c>) when a report for the run is
/// applied here. Pollers also read storage every second, so reports applied by other instances
/// arrive too, only a little later.
/// </summary>
public sealed class RunSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new();

    public void Notify(string projectId, string runId)
    {
        if (_waiting.TryRemove(Key(projectId, runId), out var signal)) signal.TrySetResult();
    }

    /// <summary>Completes when a report for the run is applied here or <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(string projectId, string runId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var key = Key(projectId, runId);
        var signal = _waiting.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await signal.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Poll storage anyway: another instance may have applied a report.
        }
        finally
        {
            // Forget a signal nobody fired, so runs nobody reports on (or watches) any more leave
            // nothing behind; another waiter still holding it just polls when its time is up.
            if (!signal.Task.IsCompleted) _waiting.TryRemove(KeyValuePair.Create(key, signal));
        }
    }

    private static string Key(string projectId, string runId) => projectId + "|" + runId;
}

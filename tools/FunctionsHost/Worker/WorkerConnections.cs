using System.Collections.Concurrent;

namespace FunctionsHost.Worker;

/// <summary>Hands each worker's gRPC stream to whoever started that worker, matched by worker id.</summary>
public sealed class WorkerConnections
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<WorkerChannel>> expected = new();

    public Task<WorkerChannel> ExpectAsync(string workerId) =>
        expected.GetOrAdd(workerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Forget(string workerId) => expected.TryRemove(workerId, out _);

    /// <summary>False for a worker nobody started (a stray process): its stream is closed.</summary>
    internal bool TryAccept(string workerId, WorkerChannel channel) =>
        expected.TryRemove(workerId, out var waiting) && waiting.TrySetResult(channel);
}

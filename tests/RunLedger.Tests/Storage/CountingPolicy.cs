using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Tests.Storage;

/// <summary>Counts requests that pass through the pipeline.</summary>
internal sealed class CountingPolicy : HttpPipelineSynchronousPolicy
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
}

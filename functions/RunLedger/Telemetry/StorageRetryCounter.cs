using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Telemetry;

/// <summary>Counts storage requests that Azure.Core's retry policy sends again after a transient failure.</summary>
public sealed class StorageRetryCounter : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        if (message.ProcessingContext.RetryNumber > 0) LedgerTelemetry.StorageRetry("transient");
    }
}

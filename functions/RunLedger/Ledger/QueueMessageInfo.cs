using System.Globalization;
using Microsoft.Azure.Functions.Worker;

namespace RunLedger.Ledger;

/// <summary>What the host tells a queue-triggered function about its message (binding data).</summary>
public sealed record QueueMessageInfo(string MessageId, long DequeueCount, DateTimeOffset InsertedAt)
{
    public static QueueMessageInfo From(FunctionContext context, TimeProvider clock)
    {
        var metadata = context.BindingContext.BindingData;
        // A message run once through the admin API was never stored: it has no id.
        var messageId = metadata.TryGetValue("Id", out var id) && id is string { Length: > 0 } s ? s : Guid.NewGuid().ToString();
        var dequeueCount = metadata.TryGetValue("DequeueCount", out var count)
            && long.TryParse(Convert.ToString(count, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 1;
        var insertedAt = metadata.TryGetValue("InsertionTime", out var inserted)
            && DateTimeOffset.TryParse(Convert.ToString(inserted, CultureInfo.InvariantCulture)?.Trim('"'), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime() : clock.GetUtcNow();
        return new QueueMessageInfo(messageId, dequeueCount, insertedAt);
    }
}

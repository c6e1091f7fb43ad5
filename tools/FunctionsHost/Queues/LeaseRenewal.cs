using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace FunctionsHost.Queues;

/// <summary>
/// Keeps a message hidden while its function runs: every third of the lease it extends the
/// visibility timeout, which gives the message a new pop receipt (the one to delete or release it
/// with). A third, not a half, so that one late or failed renewal on a busy machine still leaves
/// time for the next before the message would reappear.
/// </summary>
internal sealed class LeaseRenewal : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task renewing;

    public LeaseRenewal(QueueClient queue, QueueMessage message, TimeSpan lease)
    {
        PopReceipt = message.PopReceipt;
        renewing = RenewAsync(queue, message.MessageId, lease, stop.Token);
    }

    public string PopReceipt { get; private set; }

    private async Task RenewAsync(QueueClient queue, string messageId, TimeSpan lease, CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(lease / 3, cancellationToken);
            try
            {
                var receipt = await queue.UpdateMessageAsync(messageId, PopReceipt, visibilityTimeout: lease, cancellationToken: cancellationToken);
                PopReceipt = receipt.Value.PopReceipt;
            }
            catch (RequestFailedException)
            {
                // Retried at the next third; if the lease lapses the message is redelivered.
            }
        }
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        try
        {
            await renewing;
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => stop.Dispose();
}

using System.Text;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Queues;

/// <summary>
/// A queue trigger with the Storage extension's semantics: polls in batches with back-off up to
/// <c>maxPollingInterval</c>, fetches more once in-flight messages drop to <c>newBatchThreshold</c>,
/// hides each message while its function runs (renewing the lease), deletes it on success,
/// re-shows it after <c>visibilityTimeout</c> on failure, and moves it to <c>{queue}-poison</c>
/// after <c>maxDequeueCount</c> deliveries or at once if it is not valid base64.
/// Any error is logged and backed off from; the listener never stops before the host does.
/// </summary>
public sealed class QueueListener(
    FunctionDescriptor function,
    QueueClient queue,
    QueueClient poisonQueue,
    QueuesOptions options,
    TimeSpan lease,
    FunctionInvoker invoker,
    ILogger logger)
{
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private Lazy<Task> poisonQueueCreated = new(() => poisonQueue.CreateIfNotExistsAsync());
    private int inFlight;

    public string QueueName => queue.Name;

    public FunctionDescriptor Function => function;

    /// <summary>Messages received and not yet settled (deleted, released or poisoned).</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        QueueLog.Listening(logger, queue.Name, function.Name);
        var delay = MinPollingInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (InFlight > options.NewBatchThreshold)
                {
                    await Task.Delay(20, stoppingToken);
                }
                var messages = await ReceiveAsync(stoppingToken);
                if (messages.Length > 0)
                {
                    delay = MinPollingInterval;
                    foreach (var message in messages)
                    {
                        Interlocked.Increment(ref inFlight);
                        _ = ProcessAsync(message, stoppingToken);
                    }
                    continue;
                }
                delay = Backoff(delay);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                delay = Backoff(delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay);
                QueueLog.PollFailed(logger, queue.Name, (long)delay.TotalMilliseconds, e.Message);
            }
            try
            {
                await Task.Delay(delay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private TimeSpan Backoff(TimeSpan delay) =>
        TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Math.Max(options.MaxPollingInterval.Ticks, MinPollingInterval.Ticks)));

    private async Task<QueueMessage[]> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await queue.ReceiveMessagesAsync(options.BatchSize, lease, cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Like the extension: a queue that does not exist yet is an empty queue.
            return [];
        }
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            var raw = message.Body.ToString();
            if (!TryDecode(raw, out var text))
            {
                await PoisonAsync(message, message.PopReceipt, raw);
                QueueLog.Undecodable(logger, message.MessageId, queue.Name, poisonQueue.Name);
                return;
            }
            using var renewal = new LeaseRenewal(queue, message, lease);
            InvocationResponse? result;
            try
            {
                result = await invoker.InvokeAsync(function, new TypedData { String = text }, QueueTriggerData.Metadata(message, text), stoppingToken);
            }
            catch (WorkerGoneException e)
            {
                result = null;
                QueueLog.InvocationFailed(logger, function.Name, message.MessageId, message.DequeueCount, e.Message);
            }
            finally
            {
                await renewal.StopAsync();
            }
            await SettleAsync(message, renewal.PopReceipt, raw, result);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The message reappears when its lease runs out and is retried then.
            QueueLog.HandlingFailed(logger, message.MessageId, queue.Name, e.Message);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    private async Task SettleAsync(QueueMessage message, string popReceipt, string raw, InvocationResponse? result)
    {
        if (result?.Succeeded() == true)
        {
            await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
            return;
        }
        if (result is not null)
        {
            QueueLog.InvocationFailed(logger, function.Name, message.MessageId, message.DequeueCount, result.Result?.Exception?.Message ?? "failed");
        }
        if (message.DequeueCount >= options.MaxDequeueCount)
        {
            await PoisonAsync(message, popReceipt, raw);
            QueueLog.Poisoned(logger, message.MessageId, queue.Name, poisonQueue.Name, message.DequeueCount);
            return;
        }
        await queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: options.VisibilityTimeout, cancellationToken: CancellationToken.None);
    }

    /// <summary>Copies the message as it was sent (same encoding) to the poison queue, then deletes it.</summary>
    private async Task PoisonAsync(QueueMessage message, string popReceipt, string raw)
    {
        try
        {
            await poisonQueueCreated.Value;
        }
        catch (RequestFailedException)
        {
            poisonQueueCreated = new(() => poisonQueue.CreateIfNotExistsAsync());
            throw;
        }
        await poisonQueue.SendMessageAsync(raw, CancellationToken.None);
        await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
    }

    private bool TryDecode(string raw, out string text)
    {
        if (!options.Base64)
        {
            text = raw;
            return true;
        }
        var buffer = new byte[raw.Length];
        try
        {
            text = Convert.TryFromBase64String(raw, buffer, out var length) ? StrictUtf8.GetString(buffer, 0, length) : "";
            return text.Length > 0 || raw.Length == 0;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }
}

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
/// A queue trigger with the Storage Queues extension's semantics (5.3: QueueListener, QueueProcessor,
/// QueueTriggerBinding): polls <c>batchSize</c> messages at a time, fetches the next batch at once
/// when at most <c>newBatchThreshold</c> are still in flight, waits with a randomized back-off up to
/// <c>maxPollingInterval</c> when the queue is empty, hides each message while its function runs
/// (renewing the lease), deletes it on success and on failure shows it again after
/// <c>visibilityTimeout</c>. A message that is not valid base64 goes to <c>{queue}-poison</c> at
/// once; one delivered more than <c>maxDequeueCount</c> times goes there without an invocation;
/// one whose text is not UTF-8 is a failed invocation (the function is not called). A queue whose
/// name ends in <c>-poison</c>, or is too long for the suffix, has no poison queue: a failed
/// message is then left hidden until its lease runs out.
/// Any storage error is logged and backed off from; the listener never stops before the host does.
/// </summary>
public sealed class QueueListener(
    FunctionDescriptor function,
    QueueClient queue,
    QueueClient? poisonQueue,
    QueuesOptions options,
    TimeSpan lease,
    FunctionInvoker invoker,
    ILogger logger)
{
    private const string PoisonSuffix = "-poison";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly PollingDelay pollingDelay = new(options.MaxPollingInterval);
    private Lazy<Task>? poisonQueueCreated = poisonQueue is { } poison ? new(() => poison.CreateIfNotExistsAsync()) : null;
    private int inFlight;

    /// <summary>Completed (and replaced) when a message settles, so the poll loop wakes as soon as few enough are in flight.</summary>
    private TaskCompletionSource settled = NewSignal();

    public string QueueName => queue.Name;

    public FunctionDescriptor Function => function;

    /// <summary>Messages received and not yet settled (deleted, released or poisoned).</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>The extension's rule: <c>{queue}-poison</c>, unless the queue is a poison queue or the name would be too long.</summary>
    public static string? PoisonQueueName(string queueName) =>
        queueName.EndsWith(PoisonSuffix, StringComparison.Ordinal) || queueName.Length + PoisonSuffix.Length > 63
            ? null
            : queueName + PoisonSuffix;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        QueueLog.Listening(logger, queue.Name, function.Name);
        var foundMessages = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                // As the extension's QueueListener.WaitForNewBatchThreshold: the next batch is fetched
                // the moment enough messages have settled (it awaits their tasks), not on a timer.
                while (true)
                {
                    var signal = Volatile.Read(ref settled);
                    if (InFlight <= options.NewBatchThreshold) break;
                    await signal.Task.WaitAsync(stoppingToken);
                }
                var messages = await ReceiveAsync(stoppingToken);
                if (messages.Length > 0)
                {
                    foundMessages = true;
                    foreach (var message in messages)
                    {
                        Interlocked.Increment(ref inFlight);
                        _ = ProcessAsync(message, stoppingToken);
                    }
                    continue;
                }
                delay = pollingDelay.Next(foundMessages);
                foundMessages = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The extension backs off the same way from a missing queue or a server error
                // (others restart Azure's host, which then polls again).
                delay = pollingDelay.Next(foundMessages);
                foundMessages = false;
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

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            if (!TryDecode(raw, out var body))
            {
                // The SDK's MessageDecodingFailed handler in the extension: the raw text goes to poison as it is.
                if (await PoisonAsync(message, message.PopReceipt, raw))
                {
                    QueueLog.Undecodable(logger, message.MessageId, queue.Name, poisonQueue!.Name);
                }
                return;
            }
            // What goes to poison: the extension re-sends the decoded body through its encoding client.
            var copy = options.Base64 ? Convert.ToBase64String(body) : raw;
            if (message.DequeueCount > options.MaxDequeueCount)
            {
                // QueueProcessor.BeginProcessingMessageAsync: delivered too often (e.g. the host died
                // while it ran): poisoned without another invocation.
                if (await PoisonAsync(message, message.PopReceipt, copy))
                {
                    QueueLog.Poisoned(logger, message.MessageId, queue.Name, poisonQueue!.Name, message.DequeueCount);
                }
                return;
            }
            using var renewal = new LeaseRenewal(queue, message, lease);
            bool succeeded;
            try
            {
                succeeded = await InvokeAsync(message, body, stoppingToken);
            }
            finally
            {
                await renewal.StopAsync();
            }
            await SettleAsync(message, renewal.PopReceipt, copy, succeeded);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The message reappears when its lease runs out and is retried then.
            QueueLog.HandlingFailed(logger, message.MessageId, queue.Name, e.Message);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            Interlocked.Exchange(ref settled, NewSignal()).TrySetResult();
        }
    }

    private async Task<bool> InvokeAsync(QueueMessage message, byte[] body, CancellationToken stoppingToken)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            // The trigger binds a string parameter with a strict UTF-8 decoder: binding fails, so the
            // invocation fails without reaching the function and counts as a failed delivery.
            QueueLog.NotUtf8(logger, message.MessageId, queue.Name, message.DequeueCount, function.Name);
            return false;
        }
        try
        {
            var result = await invoker.InvokeAsync(function, new TypedData { String = text }, QueueTriggerData.Metadata(message, text), stoppingToken);
            if (!result.Succeeded())
            {
                QueueLog.InvocationFailed(logger, function.Name, message.MessageId, message.DequeueCount, result.Result?.Exception?.Message ?? "failed");
            }
            return result.Succeeded();
        }
        catch (WorkerGoneException e)
        {
            QueueLog.InvocationFailed(logger, function.Name, message.MessageId, message.DequeueCount, e.Message);
            return false;
        }
    }

    /// <summary>QueueProcessor.CompleteProcessingMessageAsync: delete, poison, release, or (no poison queue) leave hidden.</summary>
    private async Task SettleAsync(QueueMessage message, string popReceipt, string copy, bool succeeded)
    {
        if (succeeded)
        {
            await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
            return;
        }
        if (poisonQueue is null)
        {
            // "For queues without a corresponding poison queue, leave the message invisible when
            // processing fails to prevent a fast infinite loop."
            return;
        }
        if (message.DequeueCount >= options.MaxDequeueCount)
        {
            await PoisonAsync(message, popReceipt, copy);
            QueueLog.Poisoned(logger, message.MessageId, queue.Name, poisonQueue.Name, message.DequeueCount);
            return;
        }
        await queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: options.VisibilityTimeout, cancellationToken: CancellationToken.None);
    }

    /// <summary>Adds <paramref name="text"/> to the poison queue, then deletes the message; false (message left hidden) without a poison queue.</summary>
    private async Task<bool> PoisonAsync(QueueMessage message, string popReceipt, string text)
    {
        if (poisonQueue is not { } poison || poisonQueueCreated is null)
        {
            return false;
        }
        try
        {
            await poisonQueueCreated.Value;
        }
        catch (RequestFailedException)
        {
            poisonQueueCreated = new(() => poison.CreateIfNotExistsAsync());
            throw;
        }
        await poison.SendMessageAsync(text, CancellationToken.None);
        await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
        return true;
    }

    /// <summary>The SDK's decoding (Convert.FromBase64String with base64, the text's UTF-8 bytes without).</summary>
    private bool TryDecode(string raw, out byte[] body)
    {
        if (!options.Base64)
        {
            body = Encoding.UTF8.GetBytes(raw);
            return true;
        }
        try
        {
            body = Convert.FromBase64String(raw);
            return true;
        }
        catch (FormatException)
        {
            body = [];
            return false;
        }
    }
}

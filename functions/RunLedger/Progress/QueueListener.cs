using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;

namespace RunLedger.Progress;

/// <summary>
/// Standalone stand-in for the Functions queue trigger on <c>agent-progress</c>, with the host's
/// semantics: messages are base64 (others are poisoned unprocessed), hidden while processed,
/// retried when processing fails, and moved to <c>agent-progress-poison</c> after
/// <see cref="MaxDequeueCount"/> attempts. Off under the Functions host, which does all this itself.
/// </summary>
public sealed partial class QueueListener(
    IAzureClientFactory<QueueServiceClient> queues, QueueProcessor processor, IOptions<LedgerOptions> options, ILogger<QueueListener> logger)
    : BackgroundService
{
    // Raw clients: the listener must see text that is not base64 to poison it unprocessed.
    private readonly QueueClient _progress = queues.CreateClient(LedgerStorageRegistration.RawQueues).GetQueueClient(options.Value.ProgressQueue);
    private readonly QueueClient _poison = queues.CreateClient(LedgerStorageRegistration.RawQueues).GetQueueClient(options.Value.ProgressQueue + "-poison");

    public const int MaxDequeueCount = 5;
    public const int BatchSize = 16;
    private static readonly TimeSpan Processing = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(100);
        var maxIdle = options.Value.MaxPollingInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = (await _progress.ReceiveMessagesAsync(BatchSize, Processing, stoppingToken)).Value;
            }
            catch (RequestFailedException e)
            {
                LogPollFailed(logger, e.Status, e.ErrorCode);
                messages = [];
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            if (messages.Length == 0)
            {
                await Delay(idle, stoppingToken);
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, maxIdle.Ticks));
                continue;
            }
            idle = TimeSpan.FromMilliseconds(100);
            await Task.WhenAll(messages.Select(m => HandleAsync(m, stoppingToken)));
        }
    }

    private async Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        try
        {
            if (DecodeBase64(message.MessageText) is not { } text)
            {
                await PoisonAsync(message, "not base64", cancellationToken);
                return;
            }
            var done = await processor.ProcessAsync(text, message.MessageId, message.InsertedOn ?? default, message.DequeueCount, cancellationToken);
            if (done)
            {
                await _progress.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
            else if (message.DequeueCount >= MaxDequeueCount)
            {
                await PoisonAsync(message, $"failed {message.DequeueCount} times", cancellationToken);
            }
            else
            {
                await _progress.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: options.Value.RetryDelay, cancellationToken: cancellationToken);
            }
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException)
        {
            // The message reappears when its visibility timeout ends and is retried then.
            LogHandleFailed(logger, message.MessageId, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // One bad message must not stop the listener (and with it the host); it is retried, then poisoned.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogHandleFailed(logger, message.MessageId, e.Message);
        }
    }

    private async Task PoisonAsync(QueueMessage message, string why, CancellationToken cancellationToken)
    {
        await _poison.SendMessageAsync(message.MessageText, cancellationToken);
        await _progress.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        LogPoisoned(logger, message.MessageId, why);
    }

    /// <summary>The UTF-8 text a base64 message carries; null when it is not base64, as the host decides.</summary>
    internal static string? DecodeBase64(string raw)
    {
        var buffer = new byte[raw.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(raw, buffer, out var written)
            ? System.Text.Encoding.UTF8.GetString(buffer, 0, written)
            : null;
    }

    private static async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Polling the progress queue failed: {StorageStatus} {StorageErrorCode}")]
    private static partial void LogPollFailed(ILogger logger, int storageStatus, string? storageErrorCode);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Message {MessageId} moved to the poison queue: {Why}")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string why);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Message {MessageId} not handled this time: {Error}")]
    private static partial void LogHandleFailed(ILogger logger, string messageId, string error);
}

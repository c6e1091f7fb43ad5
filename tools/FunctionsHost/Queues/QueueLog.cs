using Microsoft.Extensions.Logging;

namespace FunctionsHost.Queues;

internal static partial class QueueLog
{
    [LoggerMessage(300, LogLevel.Information, "Listening to queue {Queue} for {Function}")]
    public static partial void Listening(ILogger logger, string queue, string function);

    [LoggerMessage(301, LogLevel.Warning, "Polling queue {Queue} failed; retrying in {DelayMs} ms: {Error}")]
    public static partial void PollFailed(ILogger logger, string queue, long delayMs, string error);

    [LoggerMessage(302, LogLevel.Warning, "Message {MessageId} on {Queue} moved to {PoisonQueue} after {DequeueCount} deliveries")]
    public static partial void Poisoned(ILogger logger, string messageId, string queue, string poisonQueue, long dequeueCount);

    [LoggerMessage(303, LogLevel.Warning, "Message {MessageId} on {Queue} is not valid base64; moved to {PoisonQueue} without invoking")]
    public static partial void Undecodable(ILogger logger, string messageId, string queue, string poisonQueue);

    [LoggerMessage(304, LogLevel.Warning, "Handling message {MessageId} on {Queue} failed: {Error}")]
    public static partial void HandlingFailed(ILogger logger, string messageId, string queue, string error);

    [LoggerMessage(306, LogLevel.Warning, "Message {MessageId} on {Queue} is not UTF-8: delivery {DequeueCount} failed without invoking {Function}")]
    public static partial void NotUtf8(ILogger logger, string messageId, string queue, long dequeueCount, string function);

    [LoggerMessage(305, LogLevel.Debug, "Function {Function} failed for message {MessageId} (delivery {DequeueCount}): {Error}")]
    public static partial void InvocationFailed(ILogger logger, string function, string messageId, long dequeueCount, string error);
}

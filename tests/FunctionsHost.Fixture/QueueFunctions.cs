using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Fixture;

/// <summary>
/// Queue functions. The message says what to do, so parallel tests can share one queue:
/// <c>ok:{key}</c> succeeds, <c>fail:{n}:{key}</c> fails its first n deliveries,
/// <c>always:{key}</c> always fails, <c>sleep:{ms}:{key}</c> succeeds after a while.
/// Each invocation logs what it saw.
/// </summary>
public sealed class QueueFunctions(ILogger<QueueFunctions> logger)
{
    [Function("Work")]
    public async Task Work(
        [QueueTrigger("%WorkQueue%")] string message, long dequeueCount, string? id, string? popReceipt,
        DateTimeOffset? insertionTime, DateTimeOffset? expirationTime, DateTimeOffset? nextVisibleTime)
    {
        logger.LogInformation(
            "Work {Message} dequeue {DequeueCount} id {Id} pop {PopReceipt} inserted {InsertionTime:O} expires {ExpirationTime:O} visible {NextVisibleTime:O}",
            message, dequeueCount, id, popReceipt, insertionTime, expirationTime, nextVisibleTime);
        var parts = message.Split(':');
        var fails = parts[0] switch
        {
            "always" => true,
            "fail" => dequeueCount <= int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            _ => false,
        };
        if (fails)
        {
            throw new InvalidOperationException($"Failing {message} on delivery {dequeueCount} on purpose.");
        }
        if (parts[0] == "sleep")
        {
            await Task.Delay(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            logger.LogInformation("Work {Message} done", message);
        }
    }

    /// <summary>Does nothing: the benchmark measures the host's cost per message.</summary>
    [Function("Empty")]
    public static void Empty([QueueTrigger("%BenchQueue%")] string message)
    {
    }
}

using RunLedger.Http;
using RunLedger.Ledger;

using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// One queue message, as the queue trigger delivers it: applied, recognised as
/// a duplicate, dead-lettered when malformed (never retried), or left for a retry when the run
/// does not exist yet or storage failed.
/// </summary>
public sealed partial class QueueProcessor(ProgressHandler handler, DeadLetters deadLetters, ILogger<QueueProcessor> logger)
{
    public const string Source = "agent-progress";

    /// <summary>The queue-triggered function's name.</summary>
    public const string FunctionName = "AgentProgress";

    /// <returns>Null when the message is finished with; else why it should be retried.</returns>
    public async Task<string?> ProcessAsync(string text, string messageId, DateTimeOffset insertedAt, long dequeueCount, CancellationToken cancellationToken)
    {
        ProgressReport report;
        try
        {
            report = QueueReports.Parse(text, messageId, insertedAt);
        }
        catch (LedgerException e)
        {
            await deadLetters.RecordAsync(e.Message, text, Source, messageId, insertedAt, dequeueCount, cancellationToken);
            return null;
        }

        try
        {
            var (outcome, _) = await handler.ApplyAsync(report, cancellationToken);
            return outcome == ReportOutcome.RunNotFound
                ? $"Run '{report.RunId}' does not exist in project '{report.ProjectId}'."
                : null;
        }
        catch (LedgerException e)
        {
            // The report is well-formed but can never be applied (e.g. a cost over the bound).
            await deadLetters.RecordAsync(e.Message, text, Source, messageId, insertedAt, dequeueCount, cancellationToken);
            return null;
        }
        catch (Ledger.DocumentTooLargeException e)
        {
            // Applying it would grow the run past what one entity holds: it can never succeed.
            await deadLetters.RecordAsync($"Applying the report would make the run too large: {e.Message}", text, Source, messageId, insertedAt, dequeueCount, cancellationToken);
            return null;
        }
        catch (Exception e) when (StorageFailure.IsTooLarge(e))
        {
            await deadLetters.RecordAsync("Storage refused the change as too large; no retry can fix that.", text, Source, messageId, insertedAt, dequeueCount, cancellationToken);
            return null;
        }
        catch (Exception e) when (StorageFailure.IsStorage(e))
        {
            var (status, code, _) = StorageFailure.Describe(e);
            LogTransient(logger, messageId, status, code);
            return $"Storage failed ({status} {code}).";
        }
    }

    /// <summary>
    /// The last try of a message that is about to go to the poison queue: its reason is recorded
    /// with the dead letters, where operators look, before the host moves the message.
    /// </summary>
    public Task RecordPoisonedAsync(string reason, string text, string messageId, DateTimeOffset insertedAt, long dequeueCount, string poisonQueue, CancellationToken cancellationToken) =>
        deadLetters.RecordAsync($"{reason} Tried {dequeueCount} times; the message is moved to '{poisonQueue}' (message id {messageId}).",
            text, Source, messageId, insertedAt, dequeueCount, cancellationToken);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Message {MessageId} will be retried: storage answered {StorageStatus} {StorageErrorCode}")]
    private static partial void LogTransient(ILogger logger, string messageId, int storageStatus, string? storageErrorCode);
}

using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Runs;

/// <summary>
/// Messages that can never be applied (malformed), kept with the reason and the original text
/// where an operator can list them, newest first.
/// </summary>
public sealed partial class DeadLetters(LedgerStorage storage, TimeProvider clock, ILogger<DeadLetters> logger)
{
    /// <summary>
    /// Records a dead letter. Keyed by the queue message (insertion time and id), so recording
    /// the same message again after a crash overwrites rather than duplicates.
    /// </summary>
    public async Task RecordAsync(string reason, string originalText, string source, string messageId,
        DateTimeOffset insertedAt, long dequeueCount, CancellationToken cancellationToken)
    {
        var text = originalText.Length > 200_000 ? originalText[..200_000] : originalText;
        var letter = new JsonObject
        {
            ["reason"] = reason,
            ["source"] = source,
            ["messageId"] = messageId,
            ["dequeueCount"] = dequeueCount,
            ["insertedAt"] = RunRules.Timestamp(insertedAt),
            ["recordedAt"] = RunRules.Timestamp(clock.GetUtcNow()),
            ["originalText"] = text,
        };
        var entity = new TableEntity(Keys.DeadLetterPartition, Keys.DeadLetterRow(insertedAt, messageId));
        DocumentColumns.Write(entity, letter);
        await storage.Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        LogDeadLetter(logger, source, messageId, reason);
        Telemetry.LedgerTelemetry.DeadLettered(source);
    }

    public async Task<(IReadOnlyList<JsonObject> Items, string? Next)> ListAsync(int limit, string? after, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.DeadLetterPartition} and RowKey gt {after ?? ""}");
        var (rows, more) = await TablePaging.ReadAsync(storage.Table, filter, limit, null, cancellationToken);
        return (rows.Select(r => DocumentColumns.Read(r)).ToList(), more ? rows[^1].RowKey : null);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Dead letter from {Source} message {MessageId}: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string source, string messageId, string reason);
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure;

namespace RunLedger.Storage;

/// <summary>
/// Writes and reads the OData <c>$batch</c> format for one entity-group transaction:
/// a multipart/mixed batch holding one changeset, each operation an application/http part.
/// </summary>
internal static partial class TableTransactionBatch
{
    public const int MaxActions = 100;
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    public sealed record Request(byte[] Body, string ContentType);

    public static Request Build(string root, string tableName, IReadOnlyList<TableTransactionAction> actions)
    {
        Validate(actions);
        var batch = "batch_" + Guid.NewGuid().ToString("D");
        var changeset = "changeset_" + Guid.NewGuid().ToString("D");
        using var body = new MemoryStream();
        void Write(string text) => body.Write(Encoding.UTF8.GetBytes(text));

        Write($"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n");
        for (var i = 0; i < actions.Count; i++)
        {
            var action = actions[i];
            var entity = action.Entity;
            var (method, path, json, ifMatch) = action.ActionType switch
            {
                TableTransactionActionType.Add => ("POST", "/" + tableName, true, false),
                TableTransactionActionType.UpdateMerge => ("MERGE", TableClient.EntityPath(tableName, entity.PartitionKey, entity.RowKey), true, true),
                TableTransactionActionType.UpdateReplace => ("PUT", TableClient.EntityPath(tableName, entity.PartitionKey, entity.RowKey), true, true),
                TableTransactionActionType.UpsertMerge => ("MERGE", TableClient.EntityPath(tableName, entity.PartitionKey, entity.RowKey), true, false),
                TableTransactionActionType.UpsertReplace => ("PUT", TableClient.EntityPath(tableName, entity.PartitionKey, entity.RowKey), true, false),
                TableTransactionActionType.Delete => ("DELETE", TableClient.EntityPath(tableName, entity.PartitionKey, entity.RowKey), false, true),
                _ => throw new ArgumentException($"Unknown action type {action.ActionType}.", nameof(actions)),
            };

            // Content-ID is 1-based by OData convention; a failed operation's answer may echo it.
            Write(string.Create(CultureInfo.InvariantCulture, $"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {i + 1}\r\n\r\n"));
            Write($"{method} {root}{path} HTTP/1.1\r\n");
            Write($"Accept: {TableClient.JsonAccept}\r\nDataServiceVersion: 3.0\r\n");
            if (ifMatch)
            {
                Write($"If-Match: {(action.ETag == default ? "*" : action.ETag.ToString())}\r\n");
            }

            if (json)
            {
                var content = TableEntityJson.Serialize(entity);
                if (action.ActionType == TableTransactionActionType.Add)
                {
                    Write("Prefer: return-no-content\r\n");
                }

                Write(string.Create(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {content.Length}\r\n\r\n"));
                body.Write(content);
                Write("\r\n");
            }
            else
            {
                Write("\r\n");
            }

            if (body.Length > MaxBodyBytes)
            {
                break;
            }
        }

        Write($"--{changeset}--\r\n\r\n--{batch}--\r\n");
        if (body.Length > MaxBodyBytes)
        {
            throw new ArgumentException("The transaction's request body exceeds the service's 4 MiB limit; split it.", nameof(actions));
        }

        return new Request(body.ToArray(), $"multipart/mixed; boundary={batch}");
    }

    private static void Validate(IReadOnlyList<TableTransactionAction> actions)
    {
        if (actions.Count == 0)
        {
            throw new ArgumentException("A transaction needs at least one action.", nameof(actions));
        }

        if (actions.Count > MaxActions)
        {
            throw new ArgumentException($"A transaction holds at most {MaxActions} actions; this one has {actions.Count}.", nameof(actions));
        }

        var partitionKey = actions[0].Entity.PartitionKey;
        var rowKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < actions.Count; i++)
        {
            var entity = actions[i].Entity;
            if (!string.Equals(entity.PartitionKey, partitionKey, StringComparison.Ordinal))
            {
                throw new ArgumentException($"All actions of a transaction must share one PartitionKey; action {i} differs from action 0.", nameof(actions));
            }

            if (!rowKeys.Add(entity.RowKey))
            {
                throw new ArgumentException($"Action {i} repeats a RowKey; a transaction may touch each row only once.", nameof(actions));
            }
        }
    }

    /// <summary>New ETags in action order, or <see cref="TableTransactionFailedException"/> for the failing operation.</summary>
    public static IReadOnlyList<ETag> ParseResponse(Response response, IReadOnlyList<TableTransactionAction> actions)
    {
        response.Headers.TryGetValue("Content-Type", out var contentType);
        var requestId = StorageErrors.RequestId(response);
        var boundary = Boundary(contentType)
            ?? throw new TableTransactionFailedException(response.Status, null, requestId, "The batch answer is not multipart.", null);
        var parts = MultipartResponseReader.Read(response.Content.ToString(), boundary);

        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            if (part.Status >= 300)
            {
                var (code, text) = StorageErrors.Parse(BinaryData.FromString(part.Body));
                var index = IndexFromMessage(text);
                if (index is null && part.Headers.TryGetValue("Content-ID", out var contentId)
                    && int.TryParse(contentId, CultureInfo.InvariantCulture, out var id) && id >= 1 && id <= actions.Count)
                {
                    index = id - 1;
                }

                // Only when the service answered every operation does the position identify the action.
                index ??= parts.Count == actions.Count ? i : actions.Count == 1 ? 0 : null;
                throw new TableTransactionFailedException(part.Status, code, requestId, text, index);
            }
        }

        if (parts.Count != actions.Count)
        {
            throw new TableTransactionFailedException(response.Status, null, requestId, $"The batch answer holds {parts.Count} responses for {actions.Count} actions.", null);
        }

        return parts.Select((p, i) => actions[i].ActionType == TableTransactionActionType.Delete ? default
            : p.Headers.TryGetValue("ETag", out var etag) ? new ETag(etag) : default).ToList();
    }

    /// <summary>The service prefixes the failing operation's index to the message: "1:The update condition…".</summary>
    public static int? IndexFromMessage(string? message)
    {
        var match = message is null ? null : IndexPrefix().Match(message);
        return match is { Success: true } && int.TryParse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture, out var index) ? index : null;
    }

    public static string? Boundary(string? contentType)
    {
        var match = contentType is null ? null : BoundaryParameter().Match(contentType);
        return match is { Success: true } ? match.Groups[1].Value.Trim('"') : null;
    }

    [GeneratedRegex(@"^\s*(\d+):", RegexOptions.CultureInvariant)]
    private static partial Regex IndexPrefix();

    [GeneratedRegex(@"boundary=(""[^""]+""|[^;\s]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BoundaryParameter();
}

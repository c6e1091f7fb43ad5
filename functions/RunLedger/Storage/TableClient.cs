using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Core;

namespace RunLedger.Storage;

/// <summary>
/// Operations on one table over the Table REST API (OData JSON, version 2019-02-02).
/// Errors surface as <see cref="StorageRequestFailedException"/> with the service's status and code.
/// </summary>
public sealed class TableClient
{
    internal const string ApiVersion = "2019-02-02";
    internal const string JsonAccept = "application/json;odata=minimalmetadata";
    private static readonly RequestMethod Merge = new("MERGE");

    private readonly StorageService _service;

    internal TableClient(StorageService service, string name)
    {
        _service = service;
        Name = name;
    }

    public string Name { get; }

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Post, "/Tables");
        SetJsonContent(message.Request, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = Name }));
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status is 201 or 204)
        {
            return;
        }

        var error = _service.Error(response);
        if (error.Status == 409 && error.ErrorCode == "TableAlreadyExists")
        {
            return;
        }

        throw error;
    }

    /// <summary>Deletes the table; a table that does not exist is not an error.</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, $"/Tables('{EscapeKey(Name)}')");
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status is 204 or 200 or 404)
        {
            return;
        }

        throw _service.Error(response);
    }

    public async Task<TableEntity> GetEntityAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default) =>
        await GetEntityCoreAsync(partitionKey, rowKey, throwIfMissing: true, cancellationToken) ?? throw new InvalidOperationException("Unreachable.");

    /// <summary>The entity, or null when the row does not exist (a missing table still throws).</summary>
    public Task<TableEntity?> GetEntityIfExistsAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default) =>
        GetEntityCoreAsync(partitionKey, rowKey, throwIfMissing: false, cancellationToken);

    private async Task<TableEntity?> GetEntityCoreAsync(string partitionKey, string rowKey, bool throwIfMissing, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Get, EntityPath(partitionKey, rowKey));
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status == 200)
        {
            using var doc = JsonDocument.Parse(response.Content.ToMemory());
            return TableEntityJson.Deserialize(doc.RootElement, StorageService.ETagOf(response));
        }

        var error = _service.Error(response);
        if (!throwIfMissing && error.Status == 404 && error.ErrorCode != "TableNotFound")
        {
            return null;
        }

        throw error;
    }

    /// <summary>Inserts a new row; 409 EntityAlreadyExists when it exists.</summary>
    public async Task<ETag> AddEntityAsync(TableEntity entity, CancellationToken cancellationToken = default)
    {
        ValidateEntity(entity);
        using var message = CreateMessage(RequestMethod.Post, "/" + Name);
        SetJsonContent(message.Request, TableEntityJson.Serialize(entity));
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        var response = await _service.SendAsync(message, cancellationToken);
        return response.Status is 201 or 204 ? StorageService.ETagOf(response) : throw _service.Error(response);
    }

    /// <summary>
    /// Updates an existing row if its ETag still matches (<see cref="ETag.All"/>: any version, but it must exist).
    /// A default ETag is refused rather than guessed, so a forgotten ETag cannot silently drop the concurrency check.
    /// </summary>
    public async Task<ETag> UpdateEntityAsync(TableEntity entity, ETag ifMatch, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default)
    {
        if (ifMatch == default)
        {
            throw new ArgumentException("Pass the entity's ETag, or ETag.All for an unconditional update.", nameof(ifMatch));
        }

        return await WriteEntityAsync(entity, ifMatch, mode, cancellationToken);
    }

    /// <summary>Inserts the row, or merges into / replaces the existing one.</summary>
    public Task<ETag> UpsertEntityAsync(TableEntity entity, TableUpdateMode mode = TableUpdateMode.Merge, CancellationToken cancellationToken = default) =>
        WriteEntityAsync(entity, default, mode, cancellationToken);

    private async Task<ETag> WriteEntityAsync(TableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken)
    {
        ValidateEntity(entity);
        using var message = CreateMessage(mode == TableUpdateMode.Merge ? Merge : RequestMethod.Put, EntityPath(entity.PartitionKey, entity.RowKey));
        SetJsonContent(message.Request, TableEntityJson.Serialize(entity));

        // Without If-Match the service treats PUT/MERGE as insert-or-replace/merge.
        if (ifMatch != default)
        {
            message.Request.Headers.SetValue("If-Match", ifMatch.ToString());
        }

        var response = await _service.SendAsync(message, cancellationToken);
        return response.Status == 204 ? StorageService.ETagOf(response) : throw _service.Error(response);
    }

    /// <summary>Deletes the row if its ETag matches (default: any version). 404 when it does not exist.</summary>
    public async Task DeleteEntityAsync(string partitionKey, string rowKey, ETag ifMatch = default, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, EntityPath(partitionKey, rowKey));
        message.Request.Headers.SetValue("If-Match", ifMatch == default ? "*" : ifMatch.ToString());
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 204)
        {
            throw _service.Error(response);
        }
    }

    /// <summary>One page (at most 1,000 rows, or <paramref name="top"/>); pass the returned continuation to get the next.</summary>
    public async Task<TablePage> QueryPageAsync(string? filter, int? top = null, IEnumerable<string>? select = null, TableContinuation? continuation = null, CancellationToken cancellationToken = default)
    {
        if (top is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(top), top, "top must be between 1 and 1,000.");
        }

        using var message = CreateMessage(RequestMethod.Get, "/" + Name + "()");
        var uri = message.Request.Uri;
        if (!string.IsNullOrEmpty(filter))
        {
            uri.AppendQuery("$filter", filter);
        }

        if (top is not null)
        {
            uri.AppendQuery("$top", top.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var selected = select?.ToList();
        if (selected is { Count: > 0 })
        {
            uri.AppendQuery("$select", string.Join(',', selected));
        }

        if (continuation is not null)
        {
            uri.AppendQuery("NextPartitionKey", continuation.NextPartitionKey);
            if (continuation.NextRowKey is not null)
            {
                uri.AppendQuery("NextRowKey", continuation.NextRowKey);
            }
        }

        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 200)
        {
            throw _service.Error(response);
        }

        using var doc = JsonDocument.Parse(response.Content.ToMemory());
        var values = doc.RootElement.TryGetProperty("value", out var array)
            ? array.EnumerateArray().Select(e => TableEntityJson.Deserialize(e)).ToList()
            : [];

        TableContinuation? next = null;
        if (response.Headers.TryGetValue("x-ms-continuation-NextPartitionKey", out var nextPk) && !string.IsNullOrEmpty(nextPk))
        {
            response.Headers.TryGetValue("x-ms-continuation-NextRowKey", out var nextRk);
            next = new TableContinuation(nextPk, string.IsNullOrEmpty(nextRk) ? null : nextRk);
        }

        return new TablePage(values, next);
    }

    /// <summary>All matching rows, following continuations (a page may be empty yet have a continuation).</summary>
    public async IAsyncEnumerable<TableEntity> QueryAsync(string? filter, int? maxPerPage = null, IEnumerable<string>? select = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var selected = select?.ToList();
        TableContinuation? continuation = null;
        do
        {
            var page = await QueryPageAsync(filter, maxPerPage, selected, continuation, cancellationToken);
            foreach (var entity in page.Values)
            {
                yield return entity;
            }

            continuation = page.Continuation;
        }
        while (continuation is not null);
    }

    /// <summary>
    /// Runs the actions as one entity-group transaction (all or nothing). Checked before sending:
    /// 1-100 actions, one PartitionKey, distinct RowKeys, body at most 4 MiB (<see cref="ArgumentException"/>).
    /// Returns each action's new ETag in order (default for deletes).
    /// </summary>
    public async Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actions);
        var list = actions.ToList();
        foreach (var action in list)
        {
            ValidateEntity(action.Entity);
        }

        var batch = TableTransactionBatch.Build(_service.Root, Name, list);
        using var message = CreateMessage(RequestMethod.Post, "/$batch");
        message.Request.Content = RequestContent.Create(batch.Body);
        message.Request.Headers.SetValue("Content-Type", batch.ContentType);
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 202)
        {
            var (code, text) = StorageErrors.Parse(response.Content);
            throw new TableTransactionFailedException(response.Status, code, StorageErrors.RequestId(response), text, TableTransactionBatch.IndexFromMessage(text));
        }

        return TableTransactionBatch.ParseResponse(response, list);
    }

    private HttpMessage CreateMessage(RequestMethod method, string escapedPath)
    {
        var message = _service.CreateMessage(method, escapedPath);
        var headers = message.Request.Headers;
        headers.SetValue("x-ms-version", ApiVersion);
        headers.SetValue("DataServiceVersion", "3.0");
        headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        headers.SetValue("Accept", JsonAccept);
        return message;
    }

    private static void SetJsonContent(Request request, byte[] json)
    {
        request.Content = RequestContent.Create(json);
        request.Headers.SetValue("Content-Type", "application/json");
    }

    private string EntityPath(string partitionKey, string rowKey) => EntityPath(Name, partitionKey, rowKey);

    internal static string EntityPath(string tableName, string partitionKey, string rowKey)
    {
        StorageNames.ValidateKey(partitionKey, nameof(partitionKey));
        StorageNames.ValidateKey(rowKey, nameof(rowKey));
        return $"/{tableName}(PartitionKey='{EscapeKey(partitionKey)}',RowKey='{EscapeKey(rowKey)}')";
    }

    // OData string literal inside the URL: quotes doubled, then percent-encoded (UTF-8 for non-ASCII).
    private static string EscapeKey(string key) => Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    private static void ValidateEntity(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        StorageNames.ValidateKey(entity.GetString(TableEntity.PartitionKeyName), "PartitionKey");
        StorageNames.ValidateKey(entity.GetString(TableEntity.RowKeyName), "RowKey");
    }
}

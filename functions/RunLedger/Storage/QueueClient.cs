using System.Globalization;
using System.Text;
using Azure;
using Azure.Core;

namespace RunLedger.Storage;

/// <summary>
/// Operations on one queue over the Queue REST API. Message text is sent base64-encoded,
/// which is what the Functions queue trigger expects (messageEncoding base64).
/// </summary>
public sealed class QueueClient
{
    internal const string ApiVersion = "2019-02-02";
    private static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromDays(7);

    private readonly StorageService _service;

    internal QueueClient(StorageService service, string name)
    {
        _service = service;
        Name = name;
    }

    public string Name { get; }

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Put, "/" + Name);
        var response = await _service.SendAsync(message, cancellationToken);

        // 201 created, 204 already there with the same metadata.
        if (response.Status is not (201 or 204))
        {
            throw _service.Error(response);
        }
    }

    /// <summary>Deletes the queue; a queue that does not exist is not an error.</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, "/" + Name);
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status is not (204 or 404))
        {
            throw _service.Error(response);
        }
    }

    public Task<SendReceipt> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageText);
        return SendRawMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(messageText)), visibilityTimeout, timeToLive, cancellationToken);
    }

    /// <summary>Sends <paramref name="rawText"/> as stored text, without base64: for tests of poison handling.</summary>
    internal async Task<SendReceipt> SendRawMessageAsync(string rawText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Post, $"/{Name}/messages");
        if (visibilityTimeout is { } visibility)
        {
            message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(visibility, nameof(visibilityTimeout)));
        }

        if (timeToLive is { } ttl)
        {
            // -1 means "never expires" (API version 2017-07-29 and later).
            message.Request.Uri.AppendQuery("messagettl", ttl == TimeSpan.MaxValue ? "-1" : ((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        }

        SetXmlContent(message.Request, QueueXml.MessageBody(rawText));
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 201)
        {
            throw _service.Error(response);
        }

        var m = QueueXml.Messages(response.Content).Single();
        return new SendReceipt(
            QueueXml.Text(m, "MessageId"),
            QueueXml.Text(m, "PopReceipt"),
            QueueXml.Date(m, "InsertionTime"),
            QueueXml.Date(m, "ExpirationTime"),
            QueueXml.Date(m, "TimeNextVisible"));
    }

    /// <summary>Dequeues up to <paramref name="maxMessages"/> (1-32), hiding them for the visibility timeout.</summary>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveMessagesAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        using var message = CreateMessage(RequestMethod.Get, $"/{Name}/messages");
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture));
        if (visibilityTimeout is { } visibility)
        {
            message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(visibility, nameof(visibilityTimeout)));
        }

        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 200)
        {
            throw _service.Error(response);
        }

        return QueueXml.Messages(response.Content).Select(m =>
        {
            var raw = m.Element("MessageText")?.Value ?? string.Empty;
            return new QueueMessage(
                QueueXml.Text(m, "MessageId"),
                QueueXml.Text(m, "PopReceipt"),
                QueueXml.Long(m, "DequeueCount"),
                QueueXml.Date(m, "InsertionTime"),
                QueueXml.Date(m, "ExpirationTime"),
                QueueXml.Date(m, "TimeNextVisible"),
                QueueXml.DecodeBase64(raw),
                raw);
        }).ToList();
    }

    public async Task<IReadOnlyList<PeekedMessage>> PeekMessagesAsync(int maxMessages = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        using var message = CreateMessage(RequestMethod.Get, $"/{Name}/messages");
        message.Request.Uri.AppendQuery("peekonly", "true");
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture));
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 200)
        {
            throw _service.Error(response);
        }

        return QueueXml.Messages(response.Content).Select(m =>
        {
            var raw = m.Element("MessageText")?.Value ?? string.Empty;
            return new PeekedMessage(QueueXml.Text(m, "MessageId"), QueueXml.Long(m, "DequeueCount"), QueueXml.DecodeBase64(raw), raw);
        }).ToList();
    }

    public async Task DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, MessagePath(messageId));
        message.Request.Uri.AppendQuery("popreceipt", popReceipt);
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 204)
        {
            throw _service.Error(response);
        }
    }

    /// <summary>Changes when the message becomes visible again (and optionally its text). The old pop receipt stops working.</summary>
    public async Task<UpdateReceipt> UpdateMessageAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? messageText = null, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Put, MessagePath(messageId));
        message.Request.Uri.AppendQuery("popreceipt", popReceipt);
        message.Request.Uri.AppendQuery("visibilitytimeout", Seconds(visibilityTimeout, nameof(visibilityTimeout)));
        if (messageText is not null)
        {
            SetXmlContent(message.Request, QueueXml.MessageBody(Convert.ToBase64String(Encoding.UTF8.GetBytes(messageText))));
        }

        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 204)
        {
            throw _service.Error(response);
        }

        response.Headers.TryGetValue("x-ms-popreceipt", out var newReceipt);
        response.Headers.TryGetValue("x-ms-time-next-visible", out var nextVisible);
        return new UpdateReceipt(
            newReceipt ?? throw new FormatException("The update answer lacks x-ms-popreceipt."),
            QueueXml.ParseDate(nextVisible ?? throw new FormatException("The update answer lacks x-ms-time-next-visible.")));
    }

    public async Task<int> GetApproximateMessagesCountAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Get, "/" + Name);
        message.Request.Uri.AppendQuery("comp", "metadata");
        var response = await _service.SendAsync(message, cancellationToken);
        if (response.Status != 200)
        {
            throw _service.Error(response);
        }

        return response.Headers.TryGetValue("x-ms-approximate-messages-count", out var count)
            ? int.Parse(count, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : throw new FormatException("The metadata answer lacks x-ms-approximate-messages-count.");
    }

    private HttpMessage CreateMessage(RequestMethod method, string escapedPath)
    {
        var message = _service.CreateMessage(method, escapedPath);
        message.Request.Headers.SetValue("x-ms-version", ApiVersion);
        return message;
    }

    private string MessagePath(string messageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        return $"/{Name}/messages/{Uri.EscapeDataString(messageId)}";
    }

    private static void SetXmlContent(Request request, byte[] xml)
    {
        request.Content = RequestContent.Create(xml);
        request.Headers.SetValue("Content-Type", "application/xml; charset=utf-8");
    }

    private static string Seconds(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero || value > MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(name, value, "A visibility timeout must be between 0 and 7 days.");
        }

        return ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }
}

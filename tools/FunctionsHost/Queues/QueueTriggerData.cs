using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using FunctionsHost.Rpc;

namespace FunctionsHost.Queues;

/// <summary>The trigger input and metadata the host sends for a queue message.</summary>
internal static class QueueTriggerData
{
    public static Dictionary<string, TypedData> Metadata(QueueMessage message, string text) => new()
    {
        ["QueueTrigger"] = new TypedData { String = text },
        ["Id"] = new TypedData { String = message.MessageId ?? "" },
        ["PopReceipt"] = new TypedData { String = message.PopReceipt ?? "" },
        ["DequeueCount"] = new TypedData { Json = message.DequeueCount.ToString(CultureInfo.InvariantCulture) },
        ["InsertionTime"] = Date(message.InsertedOn),
        ["ExpirationTime"] = Date(message.ExpiresOn),
        ["NextVisibleTime"] = Date(message.NextVisibleOn),
    };

    /// <summary>
    /// For the admin API: like the extension, the input becomes a message that was never stored
    /// (no id or pop receipt, dequeue count 0, no dates).
    /// </summary>
    public static Dictionary<string, TypedData> Metadata(string text) =>
        Metadata(QueuesModelFactory.QueueMessage(messageId: null, popReceipt: null, messageText: text, dequeueCount: 0), text);

    private static TypedData Date(DateTimeOffset? value) =>
        new() { Json = value is { } date ? JsonSerializer.Serialize(date) : "null" };
}

using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using FunctionsHost.Rpc;

namespace FunctionsHost.Queues;

/// <summary>
/// The trigger metadata the host sends for a queue message: the binding data of the extension's
/// QueueTriggerBinding (QueueTrigger, DequeueCount, ExpirationTime, Id, InsertionTime,
/// NextVisibleTime, PopReceipt), each converted as the Functions host's gRPC layer does
/// (strings as strings, other values as JSON, null values left out).
/// </summary>
internal static class QueueTriggerData
{
    public static Dictionary<string, TypedData> Metadata(QueueMessage message, string text)
    {
        var metadata = new Dictionary<string, TypedData>
        {
            ["QueueTrigger"] = new() { String = text },
            ["DequeueCount"] = new() { Json = message.DequeueCount.ToString(CultureInfo.InvariantCulture) },
            // The extension's stand-ins for a message that was never stored (the admin API's input).
            ["ExpirationTime"] = Date(message.ExpiresOn ?? DateTimeOffset.MaxValue),
            ["InsertionTime"] = Date(message.InsertedOn ?? DateTimeOffset.UtcNow),
            ["NextVisibleTime"] = Date(message.NextVisibleOn ?? DateTimeOffset.MaxValue),
        };
        if (message.MessageId is { } id)
        {
            metadata["Id"] = new() { String = id };
        }
        if (message.PopReceipt is { } popReceipt)
        {
            metadata["PopReceipt"] = new() { String = popReceipt };
        }
        return metadata;
    }

    /// <summary>
    /// For the admin API: like the extension, the input becomes a message that was never stored
    /// (no id or pop receipt, dequeue count 0, no dates of its own).
    /// </summary>
    public static Dictionary<string, TypedData> Metadata(string text) =>
        Metadata(QueuesModelFactory.QueueMessage(messageId: null, popReceipt: null, messageText: text, dequeueCount: 0), text);

    private static TypedData Date(DateTimeOffset value) => new() { Json = JsonSerializer.Serialize(value) };
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using FunctionsHost.Testing;
using FunctionsHost.Tests.Support;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Conformance;

/// <summary>
/// The queue trigger as Azure's host runs it, on the shared fixture host (host.json: base64,
/// maxDequeueCount 5, visibilityTimeout 0). Each test cites the source it follows.
/// </summary>
[Collection(TriggerHostGroup.Name)]
public sealed partial class QueueConformanceTests(HostFixture fixture)
{
    private FunctionsHostHarness Host => fixture.Host;

    private string Queue => fixture.WorkQueue;

    // QueueServiceClientProvider (MessageDecodingFailed handler) + QueueMessageCodec (Convert.FromBase64String).
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/QueueServiceClientProvider.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Azure.Storage.Queues/src/QueueMessageCodec.cs
    [Fact]
    public async Task AMessageThatIsNotBase64GoesToThePoisonQueueAtOnceAsSentAndTheFunctionIsNotCalled()
    {
        var raw = $"not base64 {Guid.NewGuid():N}!";

        var receipt = await Host.SendRawQueueMessageAsync(Queue, raw);

        await WaitUntilPoisonedAsync(raw);
        await Host.WaitForQueueDrainedAsync(Queue);
        Assert.Empty(Invocations(receipt.MessageId));
    }

    // StorageQueueMessageToStringConverter (strict UTF-8: binding throws) + QueueProcessor.CompleteProcessingMessageAsync
    // (a failed invocation is released, then poisoned at maxDequeueCount with the message's content).
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Triggers/StorageQueueMessageToStringConverter.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    [Fact]
    public async Task AMessageThatIsNotUtf8IsAFailedDeliveryUntilMaxDequeueCountThenPoisonedAndTheFunctionIsNeverCalled()
    {
        var bytes = new byte[] { 0xff, 0xfe }.Concat(Encoding.UTF8.GetBytes(Guid.NewGuid().ToString("N"))).ToArray();
        var raw = Convert.ToBase64String(bytes);

        var receipt = await Host.SendRawQueueMessageAsync(Queue, raw);

        await WaitUntilPoisonedAsync(raw);
        await Host.WaitForQueueDrainedAsync(Queue);
        Assert.Equal([1, 2, 3, 4, 5], Host.Logs
            .Select(l => Regex.Match(l.Message, $"^Message {receipt.MessageId} on {Queue} is not UTF-8: delivery (\\d+) failed"))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .Order());
        Assert.Empty(Invocations(receipt.MessageId));
    }

    // QueueMessageCodec: "" (and whitespace) decode to no bytes; the string converter makes that "".
    // Source: Azure/azure-sdk-for-net sdk/storage/Azure.Storage.Queues/src/QueueMessageCodec.cs
    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task AnEmptyMessageIsDeliveredAsAnEmptyString(string raw)
    {

        var receipt = await Host.SendRawQueueMessageAsync(Queue, raw);

        var log = await Host.WaitForLogAsync($" id {receipt.MessageId} ");
        Assert.StartsWith("Work  dequeue 1 ", log.Message, StringComparison.Ordinal);
        await Host.WaitForQueueDrainedAsync(Queue);
    }

    // QueueProcessor.CompleteProcessingMessageAsync / CopyMessageToPoisonQueueAsync: after maxDequeueCount failed
    // deliveries the body goes to "<queue>-poison" (QueueListenerFactory.CreatePoisonQueueReference) and is deleted.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Listeners/QueueListenerFactory.cs
    [Fact]
    public async Task AMessageFailingMaxDequeueCountTimesIsCopiedWithItsContentToTheQueueNamedPoison()
    {
        var text = $"always:{Guid.NewGuid():N}";
        var raw = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

        var receipt = await Host.SendRawQueueMessageAsync(Queue, raw);

        await WaitUntilPoisonedAsync(raw);
        await Host.WaitForQueueDrainedAsync(Queue);
        Assert.Equal([1, 2, 3, 4, 5], Invocations(receipt.MessageId));
    }

    // QueueTriggerBinding.CreateBindingData, sent as the host's gRPC layer converts binding data (strings as
    // strings, DequeueCount and dates as JSON).
    // Source: Azure/azure-functions-host src/WebJobs.Script.Grpc/Extensions/ScriptInvocationContextExtensions.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Triggers/QueueTriggerBinding.cs
    [Fact]
    public async Task TheFunctionGetsTheMessagesIdPopReceiptDequeueCountAndDates()
    {
        var text = $"ok:{Guid.NewGuid():N}";

        var receipt = await Host.SendQueueMessageAsync(Queue, text);

        var seen = Metadata().Match((await Host.WaitForLogAsync($"Work {text} dequeue ")).Message);
        Assert.True(seen.Success);
        Assert.Equal("1", seen.Groups["dequeue"].Value);
        Assert.Equal(receipt.MessageId, seen.Groups["id"].Value);
        Assert.NotEqual(receipt.PopReceipt, seen.Groups["pop"].Value);
        Assert.Equal(receipt.InsertionTime, Date(seen, "inserted"));
        Assert.Equal(receipt.ExpirationTime, Date(seen, "expires"));
        // Received with the host's lease, so it would show again about then.
        Assert.InRange(Date(seen, "visible") - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10.5));
    }

    // QueueTriggerBinding.CreateBindingData for a message that was never stored (the admin API's input):
    // no Id or PopReceipt (null binding data is not sent), dequeue count 0, ExpirationTime and
    // NextVisibleTime DateTimeOffset.MaxValue, InsertionTime now.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Triggers/QueueTriggerBinding.cs
    [Fact]
    public async Task AQueueFunctionRunByTheAdminApiGetsTheBindingDataOfAMessageNeverStored()
    {
        var text = $"ok:{Guid.NewGuid():N}";

        await Host.RunFunctionAsync("Work", text);

        var seen = Metadata().Match((await Host.WaitForLogAsync($"Work {text} dequeue ")).Message);
        Assert.True(seen.Success);
        Assert.Equal("0", seen.Groups["dequeue"].Value);
        Assert.Equal("(null)", seen.Groups["id"].Value);
        Assert.Equal("(null)", seen.Groups["pop"].Value);
        Assert.Equal(DateTimeOffset.MaxValue, Date(seen, "expires"));
        Assert.Equal(DateTimeOffset.MaxValue, Date(seen, "visible"));
        Assert.InRange(Date(seen, "inserted"), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    private int[] Invocations(string messageId) =>
        Host.Logs
            .Select(l => Regex.Match(l.Message, $"^Work .* dequeue (\\d+) id {Regex.Escape(messageId)} "))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .Order()
            .ToArray();

    private async Task WaitUntilPoisonedAsync(string raw)
    {
        var poison = Host.Queue(Queue + "-poison");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await poison.ExistsAsync() || !(await poison.PeekMessagesAsync(32)).Value.Any(m => m.Body.ToString() == raw))
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    private static DateTimeOffset Date(Match match, string group) =>
        DateTimeOffset.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"dequeue (?<dequeue>\d+) id (?<id>\S*) pop (?<pop>\S*) inserted (?<inserted>\S+) expires (?<expires>\S+) visible (?<visible>\S+)$")]
    private static partial Regex Metadata();
}

using System.Text;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class QueueClientTests : QueueTestBase
{
    [Fact]
    public async Task CreateIfNotExistsTwiceSucceedsAndDeleteOfAMissingQueueIsQuiet()
    {
        await Queue.CreateIfNotExistsAsync();

        var azurite = await Support.Azurite.GetAsync();
        var other = StorageAccount.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(Support.Names.Queue("gone"));
        await other.DeleteAsync();
    }

    [Fact]
    public async Task SendReceiveDeleteRoundTripsTheText()
    {
        var text = "{\"run\":\"ünïcødé 日本 <&>\"}";

        var receipt = await Queue.SendMessageAsync(text);
        var received = Assert.Single(await Queue.ReceiveMessagesAsync(visibilityTimeout: TimeSpan.FromSeconds(30)));
        await Queue.DeleteMessageAsync(received.MessageId, received.PopReceipt);

        Assert.Equal(receipt.MessageId, received.MessageId);
        Assert.True(received.IsBase64);
        Assert.Equal(text, received.MessageText);
        Assert.Equal(1, received.DequeueCount);
        Assert.True(received.NextVisibleOn > received.InsertedOn);
        Assert.True(received.ExpiresOn > received.InsertedOn);
        Assert.Equal(0, await Queue.GetApproximateMessagesCountAsync());
        Assert.Empty(await Queue.ReceiveMessagesAsync());
    }

    [Fact]
    public async Task MessageTextIsBase64OfTheUtf8TextOnTheWire()
    {
        var text = "héllo <queue>";

        await Queue.SendMessageAsync(text);
        var peeked = Assert.Single(await Queue.PeekMessagesAsync());

        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), peeked.RawText);
        Assert.Equal(text, peeked.MessageText);
        Assert.Equal(0, peeked.DequeueCount);
    }

    [Fact]
    public async Task DequeueCountIncrementsAfterTheVisibilityTimeoutExpires()
    {
        await Queue.SendMessageAsync("again");

        var first = Assert.Single(await Queue.ReceiveMessagesAsync(visibilityTimeout: TimeSpan.FromSeconds(1)));
        Assert.Empty(await Queue.ReceiveMessagesAsync());
        await Task.Delay(TimeSpan.FromSeconds(2));
        var second = Assert.Single(await Queue.ReceiveMessagesAsync(visibilityTimeout: TimeSpan.FromSeconds(30)));

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(2, second.DequeueCount);
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
    }

    [Fact]
    public async Task UpdateMessageChangesVisibilityAndText()
    {
        await Queue.SendMessageAsync("before");
        var received = Assert.Single(await Queue.ReceiveMessagesAsync(visibilityTimeout: TimeSpan.FromSeconds(60)));

        var update = await Queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero, "after");
        var again = Assert.Single(await Queue.ReceiveMessagesAsync(visibilityTimeout: TimeSpan.FromSeconds(60)));

        Assert.NotEqual(received.PopReceipt, update.PopReceipt);
        Assert.Equal("after", again.MessageText);
        Assert.Equal(received.MessageId, again.MessageId);

        var stale = await Assert.ThrowsAsync<StorageRequestFailedException>(
            () => Queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        // Azure answers 404 MessageNotFound or 400 PopReceiptMismatch; Azurite the latter.
        Assert.True(stale.Status is 400 or 404, stale.Message);
        Assert.True(stale.ErrorCode is "PopReceiptMismatch" or "MessageNotFound", stale.Message);
        await Queue.DeleteMessageAsync(again.MessageId, again.PopReceipt);
    }

    [Fact]
    public async Task AMessageSentInvisibleIsNotReceivedUntilItsTime()
    {
        var receipt = await Queue.SendMessageAsync("later", visibilityTimeout: TimeSpan.FromSeconds(30), timeToLive: TimeSpan.MaxValue);

        Assert.Empty(await Queue.ReceiveMessagesAsync());
        Assert.Equal(1, await Queue.GetApproximateMessagesCountAsync());
        Assert.True(receipt.NextVisibleOn >= receipt.InsertedOn.AddSeconds(29));
        Assert.True(receipt.ExpiresOn.Year >= 9999);
    }

    [Fact]
    public async Task ANonBase64MessageIsDetected()
    {
        await Queue.SendRawMessageAsync("not base64: {\"a\":1}");

        var received = Assert.Single(await Queue.ReceiveMessagesAsync());
        var peekedAfter = await Queue.PeekMessagesAsync();

        Assert.False(received.IsBase64);
        Assert.Null(received.Body);
        Assert.Null(received.MessageText);
        Assert.Equal("not base64: {\"a\":1}", received.RawText);
        Assert.Empty(peekedAfter);
    }

    [Fact]
    public async Task ReceivingManyReturnsUpTo32()
    {
        for (var i = 0; i < 5; i++)
        {
            await Queue.SendMessageAsync($"m{i}");
        }

        var received = await Queue.ReceiveMessagesAsync(maxMessages: 32);

        Assert.Equal(5, received.Count);
        Assert.Equal(5, await Queue.GetApproximateMessagesCountAsync());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Queue.ReceiveMessagesAsync(maxMessages: 33));
    }

    [Fact]
    public async Task OperationsOnAMissingQueueFailWith404()
    {
        var azurite = await Support.Azurite.GetAsync();
        var missing = StorageAccount.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(Support.Names.Queue("none"));

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => missing.SendMessageAsync("x"));

        Assert.Equal(404, ex.Status);
        Assert.Equal("QueueNotFound", ex.ErrorCode);
        Assert.StartsWith("Queue storage answered 404 QueueNotFound", ex.Message, StringComparison.Ordinal);
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Queues;

[Collection(TriggerHostGroup.Name)]
public sealed partial class QueueTriggerTests(HostFixture fixture)
{
    private string Queue => fixture.WorkQueue;

    [Fact]
    public async Task AMessageWhoseFunctionSucceedsIsDeleted()
    {
        var text = $"ok:{Guid.NewGuid():N}";

        await fixture.Host.SendQueueMessageAsync(Queue, text);

        await fixture.Host.WaitForLogAsync($"Work {text} dequeue 1 ");
        await fixture.Host.WaitForQueueDrainedAsync(Queue);
        Assert.DoesNotContain(text, await PoisonedTextsAsync());
    }

    // QueueProcessor.CompleteProcessingMessageAsync releases a failed message (visibilityTimeout 0 here); the
    // DequeueCount binding data (QueueTriggerBinding.CreateBindingData) counts the deliveries.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Triggers/QueueTriggerBinding.cs
    [Fact]
    public async Task AFailingMessageIsRetriedAndTheFunctionSeesTheDequeueCount()
    {
        var text = $"fail:2:{Guid.NewGuid():N}";

        await fixture.Host.SendQueueMessageAsync(Queue, text);

        await fixture.Host.WaitForLogAsync($"Work {text} dequeue 3 ");
        await fixture.Host.WaitForQueueDrainedAsync(Queue);
        Assert.Equal([1, 2, 3], DequeueCountsSeen(text));
        Assert.DoesNotContain(text, await PoisonedTextsAsync());
    }

    // QueueListener.ProcessMessageAsync: received with a 10-minute visibility, renewed while the function runs.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueListener.cs
    [Fact]
    public async Task AMessageIsHiddenWhileItsFunctionRunsAndDeliveredOnce()
    {
        var text = $"sleep:2000:{Guid.NewGuid():N}";

        var receipt = await fixture.Host.SendQueueMessageAsync(Queue, text);
        await fixture.Host.WaitForLogAsync($"Work {text} dequeue 1 ");

        var visible = (await fixture.Host.Queue(Queue).PeekMessagesAsync(32)).Value;
        Assert.DoesNotContain(visible, m => m.MessageId == receipt.MessageId);
        await fixture.Host.WaitForLogAsync($"Work {text} done");
        await fixture.Host.WaitForQueueDrainedAsync(Queue);
        Assert.Equal([1], DequeueCountsSeen(text));
    }

    [Fact]
    public async Task TheAdminEndpointRunsAQueueFunctionWithTheGivenInput()
    {
        var text = $"ok:{Guid.NewGuid():N}";

        await fixture.Host.RunFunctionAsync("Work", text);

        await fixture.Host.WaitForLogAsync($"Work {text} dequeue ");
    }

    private int[] DequeueCountsSeen(string text) =>
        fixture.Host.Logs
            .Select(l => Regex.Match(l.Message, $"^Work {Regex.Escape(text)} dequeue (\\d+) "))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .Order()
            .ToArray();

    private async Task<List<string>> PoisonedTextsAsync(bool decode = true)
    {
        QueueClient poison = fixture.Host.Queue(Queue + "-poison");
        if (!await poison.ExistsAsync())
        {
            return [];
        }
        var messages = (await poison.PeekMessagesAsync(32)).Value;
        return messages.Select(m => decode ? Decoded(m.Body.ToString()) : m.Body.ToString()).ToList();
    }

    /// <summary>The text of a base64 message; other messages (the test that poisons non-base64 ones) as they are.</summary>
    private static string Decoded(string raw)
    {
        var bytes = new byte[raw.Length];
        return Convert.TryFromBase64String(raw, bytes, out var length) ? Encoding.UTF8.GetString(bytes, 0, length) : raw;
    }
}

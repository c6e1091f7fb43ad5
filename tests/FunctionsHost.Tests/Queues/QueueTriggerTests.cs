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

    [Fact]
    public async Task AMessageThatAlwaysFailsGoesToThePoisonQueueAfterFiveDeliveriesWithItsText()
    {
        var text = $"always:{Guid.NewGuid():N}";

        await fixture.Host.SendQueueMessageAsync(Queue, text);

        await WaitUntilPoisonedAsync(text);
        await fixture.Host.WaitForQueueDrainedAsync(Queue);
        Assert.Equal([1, 2, 3, 4, 5], DequeueCountsSeen(text));
    }

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
    public async Task AMessageThatIsNotBase64IsPoisonedWithoutInvokingTheFunction()
    {
        var key = Guid.NewGuid().ToString("N");
        var raw = $"ok:{key} is not base64!";

        await fixture.Host.SendRawQueueMessageAsync(Queue, raw);

        await WaitUntilPoisonedAsync(raw, decode: false);
        await fixture.Host.WaitForQueueDrainedAsync(Queue);
        Assert.DoesNotContain(fixture.Host.Logs, l => l.Message.Contains($"Work ok:{key}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheFunctionGetsTheMessagesMetadataAsTheHostSendsIt()
    {
        var text = $"ok:{Guid.NewGuid():N}";

        var receipt = await fixture.Host.SendQueueMessageAsync(Queue, text);

        var log = await fixture.Host.WaitForLogAsync($"Work {text} dequeue 1 ");
        var seen = Metadata().Match(log.Message);
        Assert.True(seen.Success, log.Message);
        Assert.Equal(receipt.MessageId, seen.Groups["id"].Value);
        Assert.NotEmpty(seen.Groups["pop"].Value);
        Assert.Equal(receipt.InsertionTime, Date(seen, "inserted"));
        Assert.Equal(receipt.ExpirationTime, Date(seen, "expires"));
        Assert.True(Date(seen, "visible") > receipt.InsertionTime, log.Message);
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

    private async Task WaitUntilPoisonedAsync(string text, bool decode = true)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await PoisonedTextsAsync(decode)).Contains(text))
        {
            await Task.Delay(100, timeout.Token);
        }
    }

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

    private static DateTimeOffset Date(Match match, string group) =>
        DateTimeOffset.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"id (?<id>\S+) pop (?<pop>\S+) inserted (?<inserted>\S+) expires (?<expires>\S+) visible (?<visible>\S+)$")]
    private static partial Regex Metadata();
}

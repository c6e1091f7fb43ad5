using FunctionsHost.Testing;
using FunctionsHost.Tests.Support;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Queues;

public sealed class LeaseRenewalTests
{
    [Fact]
    public async Task AFunctionRunningLongerThanTheLeaseKeepsItsMessageHiddenByRenewingIt()
    {
        var azurite = await Azurite.GetAsync();
        var queue = Names.Queue("lease");
        await using var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = HostFixture.AppDirectory,
            // A 3 s lease against a 7 s function: without renewal the message would be delivered again
            // after 3 s. Renewed every second, each renewal may be 2 s late on a busy machine (a 1 s
            // lease left a third of a second, and CI once saw a second delivery).
            QueueMessageLease = TimeSpan.FromSeconds(3),
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["WorkQueue"] = queue,
                ["BenchQueue"] = Names.Queue("bench"),
                ["TickSchedule"] = "0 0 0 1 1 *",
            },
        });
        var text = $"sleep:7000:{Guid.NewGuid():N}";

        await harness.SendQueueMessageAsync(queue, text);

        await harness.WaitForLogAsync($"Work {text} done");
        await harness.WaitForQueueDrainedAsync(queue);
        Assert.Single(harness.Logs, l => l.Message.StartsWith($"Work {text} dequeue ", StringComparison.Ordinal));
    }
}

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
            // A 1 s lease against a 3 s function: without renewal the message would be delivered again.
            QueueMessageLease = TimeSpan.FromSeconds(1),
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["WorkQueue"] = queue,
                ["BenchQueue"] = Names.Queue("bench"),
                ["TickSchedule"] = "0 0 0 1 1 *",
            },
        });
        var text = $"sleep:3000:{Guid.NewGuid():N}";

        await harness.SendQueueMessageAsync(queue, text);

        await harness.WaitForLogAsync($"Work {text} done");
        await harness.WaitForQueueDrainedAsync(queue);
        Assert.Single(harness.Logs, l => l.Message.StartsWith($"Work {text} dequeue ", StringComparison.Ordinal));
    }
}

using System.Net;
using FunctionsHost.Testing;
using FunctionsHost.Tests.Support;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Queues;

public sealed class StorageOutageTests
{
    [Fact]
    public async Task AQueueListenerWhoseStorageIsDownKeepsRetryingAndTheHostKeepsServing()
    {
        // A port nothing listens on: every poll fails.
        var deadStorage = $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={Azurite.AccountKey};" +
            $"QueueEndpoint=http://127.0.0.1:9/{Azurite.AccountName};";
        await using var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = HostFixture.AppDirectory,
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = deadStorage,
                ["WorkQueue"] = Names.Queue("work"),
                ["BenchQueue"] = Names.Queue("bench"),
                ["TickSchedule"] = "0 0 0 1 1 *",
            },
        });

        var first = await harness.WaitForLogAsync(l => l.Message.StartsWith("Polling queue", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await harness.WaitForLogAsync(l => l.Message.StartsWith("Polling queue", StringComparison.Ordinal) && l.Time > first.Time, TimeSpan.FromSeconds(60));

        using var response = await harness.Client.GetAsync("api/ping");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

using FunctionsHost.Testing;
using FunctionsHost.Tests.Support;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Worker;

public sealed class WorkerShutdownTests
{
    [Fact]
    public async Task StoppingTheHostSendsWorkerTerminateAndTheWorkerExitsByItself()
    {
        var azurite = await Azurite.GetAsync();
        await using var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = HostFixture.AppDirectory,
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["WorkQueue"] = Names.Queue("work"),
                ["BenchQueue"] = Names.Queue("bench"),
                ["TickSchedule"] = "0 0 0 1 1 *",
            },
        });
        var worker = harness.Host.Supervisor.Process!;
        // Let the worker finish starting (its web server answers): a worker stopped while still
        // starting up ends with an OperationCanceledException of its own, under any host.
        (await harness.Client.GetAsync("api/ping")).EnsureSuccessStatusCode().Dispose();

        await harness.StopAsync();

        Assert.True(worker.HasExited);
        Assert.Equal(0, worker.ExitCode);
        Assert.Contains(harness.Logs, l => l.Message.Contains("stopped with exit code 0", StringComparison.Ordinal));
    }
}

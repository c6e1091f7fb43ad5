using System.Net;
using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Worker;

[Collection(KeyedHostGroup.Name)]
public sealed class WorkerRestartTests(KeyedHostFixture fixture)
{
    [Fact]
    public async Task AWorkerKilledMidRequestIsRestartedAndServesAgain()
    {
        var host = fixture.Host;
        var key = Guid.NewGuid().ToString("N");
        var killed = host.Host.Supervisor.Process!.Id;
        var inFlight = host.Client.GetAsync($"api/slow/{key}");
        await host.WaitForLogAsync($"Slow {key} started");

        host.KillWorker();

        using var failed = await inFlight;
        Assert.True((int)failed.StatusCode >= 500, $"The request in flight was answered {(int)failed.StatusCode}.");
        await host.WaitForLogAsync("restarting in");
        await host.WaitForWorkerAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(killed, host.Host.Supervisor.Process!.Id);
        using var response = await host.Client.GetAsync("api/ping");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

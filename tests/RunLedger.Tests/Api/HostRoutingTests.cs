using System.Net;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// Paths that a looser route of another function can also match, answered by the function they name
/// under a host that routes as Azure's does (first match in function-name order; tools/FunctionsHost/README.md).
/// </summary>
public sealed class HostRoutingTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    // GetRun sorts before GetRunCounts: without a constraint on {runId}, Azure answers runs/counts as run "counts" (404).
    [Fact]
    public async Task RunCountsAreAnsweredByTheCountsFunctionNotAsARunNamedCounts()
    {
        await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{}}""");

        var response = await Client.GetAsync($"/api/projects/{P}/runs/counts");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var counts = await response.JsonAsync();
        Assert.Equal(1, (int)counts["total"]!);
        Assert.Equal(1, (int)counts["queued"]!);
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("LATEST")]
    public async Task TheLatestRunIsAnsweredByTheLatestFunctionInAnyCase(string name)
    {
        var runId = (string)(await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{}}"""))["runId"]!;

        var response = await Client.GetAsync($"/api/projects/{P}/runs/{name}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(runId, (string)(await response.JsonAsync())["runId"]!);
    }
}

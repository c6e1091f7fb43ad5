using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Billing;

/// <summary>
/// The agency's overview of every client, through the host: what each statement and budget says, in
/// one answer. That only an admin key reads it is checked with every admin function in DeclaredOutcomesTests.
/// </summary>
public sealed class OverviewTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    [Fact]
    public async Task TheOverviewShowsEachClientsMonthSoFarItsRunsItsBudgetAndLastMonthsStatement()
    {
        var other = P + "b";
        (await Client.PutAsync($"/api/projects/{P}/config", JsonContent.Create(JsonNode.Parse("""{"budget":{"monthlyUsd":100}}""")))).EnsureSuccessStatusCode();
        foreach (var (project, cost) in new[] { (P, "7.5"), (other, "0.125") })
        {
            var runId = (string)(await StartAsync($$"""{"projectId":"{{project}}"}"""))["runId"]!;
            (await Client.PostJsonAsync($"/api/projects/{project}/runs/{runId}/progress",
                $$$"""{"agent":"voice","usage":{"model":"m","costUsd":{{{cost}}}}}""")).EnsureSuccessStatusCode();
        }
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

        var overview = await (await Client.GetAsync("/api/overview")).JsonAsync();

        var projects = overview["projects"]!.AsArray().Select(p => p!.AsObject()).ToDictionary(p => (string)p["projectId"]!);
        Assert.Equal(month, (string)overview["month"]!);
        foreach (var project in new[] { P, other })
        {
            var statement = await (await Client.GetAsync($"/api/projects/{project}/statements/{month}")).JsonAsync();
            Assert.Equal((decimal)statement["total"]!, (decimal)projects[project]["total"]!);
            Assert.Equal((string)statement["exactSubtotal"]!, (string)projects[project]["exactSubtotal"]!);
            Assert.Equal(1, (long)projects[project]["activeRuns"]!);
            Assert.Equal("open", (string)projects[project]["lastMonth"]!["status"]!);
        }
        Assert.Equal("7.500000", (string)projects[P]["budget"]!["spendUsd"]!);
        Assert.Equal("92.500000", (string)projects[P]["budget"]!["remainingUsd"]!);
        Assert.Null(projects[other]["budget"]);
        Assert.Equal(projects.Values.Sum(p => (decimal)p["total"]!), (decimal)overview["total"]!);
    }
}

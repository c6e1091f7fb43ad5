using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

/// <summary>Analytics span projects, so each test has a host and table of its own.</summary>
public sealed class CostAnalyticsTests() : LedgerTest(new LedgerHost()), IAsyncLifetime
{
    public Task InitializeAsync() => App.InitializeAsync();

    public Task DisposeAsync() => App.DisposeAsync();

    /// <summary>
    /// The time line of the seeded runs: "day" n is T0 + n × 10 s. Reports may carry times only
    /// within a few minutes of their run's creation and their own arrival, so the seeded history
    /// spans about a minute and a half around now rather than real days.
    /// </summary>
    private readonly DateTimeOffset _t0 = DateTimeOffset.UtcNow.AddMinutes(-2);

    private string Day(int day, int second = 0) => Runs.RunRules.Timestamp(_t0.AddSeconds(day * 10 + second));

    /// <summary>A run in <paramref name="project"/> costing <paramref name="outputTokens"/> × $10/1M (gpt-4o), completed at <paramref name="day"/>.</summary>
    private async Task<string> CompletedRunAsync(string project, string runId, int outputTokens, int day, bool complete = true)
    {
        await StartAsync($$"""{"projectId":"{{project}}","runId":"{{runId}}"}""");
        var at = Day(day);
        (await Client.PostJsonAsync($"/api/projects/{project}/runs/{runId}/progress",
            $$"""{"agent":"video","usage":{"model":"gpt-4o","outputTokens":{{outputTokens}}},"timestamp":"{{at}}"}"""))
            .EnsureSuccessStatusCode();
        if (complete)
        {
            (await Client.PostJsonAsync($"/api/projects/{project}/runs/{runId}/progress",
                $$"""{"agent":"publisher","status":"completed","timestamp":"{{at}}"}""")).EnsureSuccessStatusCode();
        }
        return runId;
    }

    private async Task<JsonObject> GetAsync(string url) => await (await Client.GetAsync(url)).JsonAsync();

    private async Task SeedAsync()
    {
        await CompletedRunAsync("alpha", "a1", 100_000, day: 1);  // $1.00
        await CompletedRunAsync("alpha", "a2", 300_000, day: 5);  // $3.00
        await CompletedRunAsync("alpha", "a3", 200_000, day: 9);  // $2.00
        await CompletedRunAsync("beta", "b1", 500_000, day: 5);   // $5.00
        await CompletedRunAsync("beta", "b2", 50_000, day: 7);    // $0.50
        await CompletedRunAsync("alpha", "a4", 900_000, day: 6, complete: false); // running: never counted
    }

    [Fact]
    public async Task SummaryAveragesCompletedRunsAcrossProjects()
    {
        await SeedAsync();
        var all = await GetAsync("/api/costs/summary");
        Assert.Equal(5, (long)all["runCount"]!);
        Assert.Equal(11.5000m, (decimal)all["totalCost"]!);
        Assert.Equal(2.3000m, (decimal)all["averageCost"]!);
        Assert.Equal(230_000m, (decimal)all["averageTokens"]!);
    }

    [Fact]
    public async Task SummaryNarrowsToOneProjectAndATimeWindow()
    {
        await SeedAsync();
        var alpha = await GetAsync("/api/costs/summary?projectId=alpha");
        Assert.Equal(3, (long)alpha["runCount"]!);
        Assert.Equal(2.0000m, (decimal)alpha["averageCost"]!);

        var window = await GetAsync($"/api/costs/summary?from={Day(5)}&to={Day(7, 9)}");
        Assert.Equal(3, (long)window["runCount"]!); // a2, b1, b2
        Assert.Equal(8.5000m, (decimal)window["totalCost"]!);

        var alphaWindow = await GetAsync($"/api/costs/summary?projectId=alpha&from={Day(2)}&to={Day(31)}");
        Assert.Equal(2, (long)alphaWindow["runCount"]!);
        Assert.Equal(2.5000m, (decimal)alphaWindow["averageCost"]!);

        var empty = await GetAsync("/api/costs/summary?projectId=gamma");
        Assert.Equal(0, (long)empty["runCount"]!);
        Assert.Equal(0m, (decimal)empty["averageCost"]!);
    }

    [Fact]
    public async Task ADateOnlyToTakesInTheWholeDayItNamesAndADateAndTimeStaysExact()
    {
        await CompletedRunAsync("alpha", "a1", 100_000, day: 1);
        var completed = _t0.AddSeconds(10).UtcDateTime;
        var day = completed.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var dayBefore = completed.AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var through = await GetAsync($"/api/costs/summary?projectId=alpha&to={day}");
        Assert.Equal(1, (long)through["runCount"]!);
        Assert.Equal($"{day}T23:59:59.999Z", (string)through["to"]!);
        Assert.Equal(1, (long)(await GetAsync($"/api/costs/summary?projectId=alpha&from={day}&to={day}"))["runCount"]!);
        Assert.Equal(0, (long)(await GetAsync($"/api/costs/summary?projectId=alpha&to={dayBefore}"))["runCount"]!);
        // A date and time is a point: the run completed after it.
        Assert.Equal(0, (long)(await GetAsync($"/api/costs/summary?projectId=alpha&to={Runs.RunRules.Timestamp(_t0)}"))["runCount"]!);
    }

    [Fact]
    public async Task TopListsTheCostliestCompletedRunsFirst()
    {
        await SeedAsync();
        var top = await GetAsync("/api/costs/top?limit=3");
        Assert.Equal(["b1", "a2", "a3"], top["items"]!.AsArray().Select(i => (string)i!["runId"]!));
        Assert.Equal(5.0000m, (decimal)top["items"]![0]!["totalCost"]!);

        var alpha = await GetAsync("/api/costs/top?projectId=alpha");
        Assert.Equal(["a2", "a3", "a1"], alpha["items"]!.AsArray().Select(i => (string)i!["runId"]!));
    }

    [Fact]
    public async Task ALateCostChangesACompletedRunsRankAndTheSummary()
    {
        await SeedAsync();
        (await Client.PostJsonAsync("/api/projects/alpha/runs/a1/progress",
            """{"agent":"video","usage":{"model":"gpt-4o","outputTokens":600000}}""")).EnsureSuccessStatusCode(); // a1: $1 → $7

        var top = await GetAsync("/api/costs/top?limit=10");
        Assert.Equal(["a1", "b1", "a2", "a3", "b2"], top["items"]!.AsArray().Select(i => (string)i!["runId"]!));
        Assert.Equal(7.0000m, (decimal)top["items"]![0]!["totalCost"]!);
        var summary = await GetAsync("/api/costs/summary");
        Assert.Equal(5, (long)summary["runCount"]!);
        Assert.Equal(17.5000m, (decimal)summary["totalCost"]!);
    }

    [Theory]
    [InlineData("/api/costs/summary?from=soon", "'from' must be an ISO 8601")]
    [InlineData("/api/costs/summary?from=2026-03-09&to=2026-03-01", "'from' is later than 'to'")]
    [InlineData("/api/costs/summary?projectId=bad%20id", "'projectId' may contain only")]
    [InlineData("/api/costs/top?limit=0", "'limit' must be from 1 to 100")]
    public async Task BadAnalyticsParametersAre400(string url, string detail)
    {
        Assert.Contains(detail, await (await Client.GetAsync(url)).AssertProblemAsync(400), StringComparison.Ordinal);
    }
}

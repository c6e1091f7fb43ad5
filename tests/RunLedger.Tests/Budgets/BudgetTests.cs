using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;
using RunLedger.Ledger;

namespace RunLedger.Tests.Budgets;

/// <summary>
/// Budgets end to end: month-to-date spend kept exactly with the cost rows, and one <c>budget</c>
/// callback per threshold per month, however many reports of different runs race on the spend
/// row, arrive twice, or arrive after their run ended.
/// </summary>
public sealed class BudgetTests(CallbackHost host) : LedgerTest(host), IClassFixture<CallbackHost>
{
    private const string Secret = "budget-secret-0123456789";

    private Task<HttpResponseMessage> PutConfigAsync(string json) =>
        Client.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/projects/{P}/config")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        });

    private async Task<JsonObject> BudgetAsync() => await (await Client.GetAsync($"/api/projects/{P}/budget")).JsonAsync();

    private static string Report(string projectId, string runId, string eventId, string costUsd) =>
        $$$"""{"projectId":"{{{projectId}}}","runId":"{{{runId}}}","eventId":"{{{eventId}}}","agent":"voice","usage":{"model":"tts-1","characters":10,"costUsd":{{{costUsd}}}}}""";

    [Fact]
    public async Task ConcurrentReportsOfManyRunsWithRedeliveriesAndLateCostsAlertOncePerThreshold()
    {
        var path = $"/{P}/budget";
        var url = host.Receiver.Url(path, Secret);
        (await PutConfigAsync($$"""
            {"budget":{"monthlyUsd":1.00,"alertAt":[0.5,0.8,1.0]},
             "callbacks":[{"url":"{{url}}","events":["budget"],"secret":"{{Secret}}"}]}
            """)).EnsureSuccessStatusCode();

        var runs = new List<string>();
        for (var i = 0; i < 6; i++) runs.Add((string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!);

        // 18 reports of $0.07 (= $1.26), half over HTTP at once and half through the queue, each
        // queue report sent twice; then every run completes and gets a late $0.07 ($1.68 in all).
        var sends = new List<Task>();
        for (var i = 0; i < 18; i++)
        {
            var run = runs[i % runs.Count];
            var report = Report(P, run, $"cost-{i}", "0.07");
            if (i % 2 == 0)
            {
                sends.Add(Client.PostJsonAsync($"/api/projects/{P}/runs/{run}/progress", report).ContinueWith(t => t.Result.EnsureSuccessStatusCode(), TaskScheduler.Default));
            }
            else
            {
                sends.Add(App.SendProgressAsync(report));
                sends.Add(App.SendProgressAsync(report));
            }
        }
        await Task.WhenAll(sends);
        await App.ProgressDrainedAsync();
        var late = new List<Task>();
        foreach (var run in runs)
        {
            (await Client.PostJsonAsync($"/api/projects/{P}/runs/{run}/progress", """{"agent":"publisher","status":"completed"}""")).EnsureSuccessStatusCode();
            late.Add(App.SendProgressAsync(Report(P, run, "late", "0.07")));
        }
        await Task.WhenAll(late);
        await App.ProgressDrainedAsync();

        var budget = await BudgetAsync();
        Assert.Equal(1_680_000, (long)budget["spendMicros"]!);
        Assert.Equal("1.680000", (string)budget["spendUsd"]!);
        Assert.Equal("1.000000", (string)budget["monthlyUsd"]!);
        Assert.Equal("-0.680000", (string)budget["remainingUsd"]!);
        Assert.Equal([0.5m, 0.8m, 1.0m], budget["crossed"]!.AsArray().Select(t => (decimal)t!));
        // The spend is the sum of what the runs recorded, each report counted once.
        long total = 0;
        foreach (var run in runs) total += (long)(await (await Client.GetAsync($"/api/projects/{P}/runs/{run}")).JsonAsync())["totalCostMicros"]!;
        Assert.Equal(1_680_000, total);

        await Eventually.HoldsAsync(() => Task.FromResult(host.Receiver.For(path).Count >= 3), "three budget alerts");
        await Task.Delay(1500);
        var alerts = host.Receiver.For(path);
        Assert.Equal(3, alerts.Count);
        Assert.All(alerts, a => Assert.True(a.SignatureValid));
        Assert.All(alerts, a => Assert.Equal("budget", a.Event));
        Assert.Equal(["0.5", "0.8", "1"], alerts.Select(a => BudgetThreshold(a.Body)).Order(StringComparer.Ordinal));
        Assert.Equal(3, alerts.Select(a => a.DeliveryId).Distinct().Count());
        var shown = (await BudgetAsync())["alerts"]!.AsArray();
        Assert.Equal(3, shown.Count);
        Assert.All(shown, a => Assert.Equal("delivered", (string)a!["state"]!));
    }

    private static string BudgetThreshold(string body) => ((decimal)JsonNode.Parse(body)!["budget"]!["threshold"]!).ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ThresholdsAreCrossedAtTheExactSpend()
    {
        (await PutConfigAsync("""{"budget":{"monthlyUsd":0.000003,"alertAt":[0.5,1]}}""")).EnsureSuccessStatusCode();
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;

        // Half of 3 micro-dollars is 1.5: crossed at 2, not at 1.
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "a", "0.000001"))).EnsureSuccessStatusCode();
        Assert.Empty((await BudgetAsync())["crossed"]!.AsArray());
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "b", "0.000001"))).EnsureSuccessStatusCode();
        Assert.Equal([0.5m], (await BudgetAsync())["crossed"]!.AsArray().Select(t => (decimal)t!));
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "c", "0.000001"))).EnsureSuccessStatusCode();
        Assert.Equal([0.5m, 1m], (await BudgetAsync())["crossed"]!.AsArray().Select(t => (decimal)t!));
        Assert.Equal(3, (long)(await BudgetAsync())["spendMicros"]!);
    }

    [Fact]
    public async Task AProjectWithoutABudgetKeepsNoSpendSoItsCostReportsShareNoRow()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "a", "0.25"))).EnsureSuccessStatusCode();

        var budget = await BudgetAsync();
        Assert.Equal(0, (long)budget["spendMicros"]!);
        Assert.Null(budget["monthlyUsd"]);
        Assert.Empty(budget["crossed"]!.AsArray());
        Assert.Null(await App.Table.FindAsync(P, RunLedger.Ledger.Keys.BudgetRow, default));
    }

    [Fact]
    public async Task ABudgetSetMidMonthStartsFromTheMonthsCostsAndAPutKeepsTheSpend()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "a", "0.40"))).EnsureSuccessStatusCode();
        (await PutConfigAsync("""{"budget":{"monthlyUsd":2}}""")).EnsureSuccessStatusCode();

        var budget = await BudgetAsync();
        Assert.Equal(400_000, (long)budget["spendMicros"]!);
        Assert.Equal("2.000000", (string)budget["monthlyUsd"]!);
        (await PutConfigAsync("""{"budget":{"monthlyUsd":3}}""")).EnsureSuccessStatusCode();
        Assert.Equal(400_000, (long)(await BudgetAsync())["spendMicros"]!);
        budget = await BudgetAsync();
        Assert.Equal([0.5m, 0.8m, 1.0m], budget["alertAt"]!.AsArray().Select(t => (decimal)t!));
    }

    [Fact]
    public async Task ABudgetTurnedOffAndOnAgainInOneMonthStopsNoReportOverHttpOrTheQueueAndAlertsOnce()
    {
        var path = $"/{P}/off-on";
        var callbacks = $$"""[{"url":"{{host.Receiver.Url(path, Secret)}}","events":["budget"],"secret":"{{Secret}}"}]""";
        var withBudget = $$"""{"budget":{"monthlyUsd":1.00,"alertAt":[0.5]},"callbacks":{{callbacks}}}""";
        (await PutConfigAsync(withBudget)).EnsureSuccessStatusCode();
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "a", "0.60"))).EnsureSuccessStatusCode();
        await Eventually.HoldsAsync(() => Task.FromResult(host.Receiver.For(path).Count >= 1), "the 0.5 alert");

        (await PutConfigAsync($$"""{"callbacks":{{callbacks}}}""")).EnsureSuccessStatusCode();
        (await PutConfigAsync(withBudget)).EnsureSuccessStatusCode();

        HttpStatusCode answer;
        using (var http = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", Report(P, runId, "b", "0.10")))
        {
            answer = http.StatusCode;
        }
        await App.SendProgressAsync(Report(P, runId, "c", "0.20"));
        await App.ProgressDrainedAsync();
        var poisoned = await App.ProgressPoison.CountAsync();
        Assert.True(answer == HttpStatusCode.Accepted && poisoned == 0, $"the HTTP report was answered {(int)answer}; {poisoned} queue reports were poisoned");

        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal(900_000, (long)run["totalCostMicros"]!);
        var events = (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        Assert.Equal(["a", "b", "c"], events.Select(e => (string)e!["eventId"]!));
        var budget = await BudgetAsync();
        Assert.Equal(900_000, (long)budget["spendMicros"]!);
        Assert.Equal([0.5m], budget["crossed"]!.AsArray().Select(t => (decimal)t!));
        Assert.Single(budget["alerts"]!.AsArray());
        await Task.Delay(1000);
        Assert.Single(host.Receiver.For(path));
    }

    [Theory]
    [InlineData("""{"budget":5}""", "'budget' must be a {monthlyUsd, alertAt} object")]
    [InlineData("""{"budget":{}}""", "'budget.monthlyUsd' is required")]
    [InlineData("""{"budget":{"monthlyUsd":"100"}}""", "'budget.monthlyUsd' is required")]
    [InlineData("""{"budget":{"monthlyUsd":0}}""", "above 0")]
    [InlineData("""{"budget":{"monthlyUsd":0.0000001}}""", "at most 6 decimals")]
    [InlineData("""{"budget":{"monthlyUsd":1000000001}}""", "at most 1000000000")]
    [InlineData("""{"budget":{"monthlyUsd":10,"alertAt":[]}}""", "1 to 10 fractions")]
    [InlineData("""{"budget":{"monthlyUsd":10,"alertAt":[0]}}""", "above 0 and at most 10")]
    [InlineData("""{"budget":{"monthlyUsd":10,"alertAt":[0.12345]}}""", "at most 4 decimals")]
    [InlineData("""{"budget":{"monthlyUsd":10,"alertAt":[0.5,0.5]}}""", "names 0.5 twice")]
    [InlineData("""{"budget":{"monthlyUsd":10,"currency":"EUR"}}""", "'budget.currency' is not a budget field")]
    public async Task ABadBudgetIs400AndStoresNothing(string config, string detail)
    {
        Assert.Contains(detail, await (await PutConfigAsync(config)).AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/api/projects/{P}/config")).StatusCode);
        Assert.Contains(detail.Replace("'budget", "'config.budget", StringComparison.Ordinal),
            await (await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}","config":""" + config + "}")).AssertProblemAsync(400),
            StringComparison.Ordinal);
    }
}

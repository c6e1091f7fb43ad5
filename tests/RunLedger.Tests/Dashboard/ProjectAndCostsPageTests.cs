using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using RunLedger.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace RunLedger.Tests.Dashboard;

/// <summary>The project and costs pages in a real browser, against the real worker under the local Functions host.</summary>
[Trait("Category", "Browser")]
public sealed class ProjectAndCostsPageTests(BrowserHost host) : LedgerTest(host), IClassFixture<BrowserHost>
{
    private BrowserHost Browser => (BrowserHost)App;

    private static string Id(int i) => "r" + i.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>23 runs: 5 completed, 3 failed, 4 running, 11 queued (r01 oldest).</summary>
    private async Task SeedRunsAsync()
    {
        for (var i = 1; i <= 23; i++)
        {
            await StartAsync($$"""{"projectId":"{{P}}","runId":"{{Id(i)}}"}""");
            var status = i <= 5 ? "completed" : i <= 8 ? "failed" : i <= 12 ? "running" : null;
            if (status is null) continue;
            var patch = status == "failed" ? """{"status":"failed","error":"boom"}""" : $$"""{"status":"{{status}}","progress":50}""";
            (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{Id(i)}", patch)).EnsureSuccessStatusCode();
        }
    }

    /// <summary>The API's own answer: every run id with the status, newest first.</summary>
    private async Task<List<string>> ApiRunIdsAsync(string? status = null)
    {
        var ids = new List<string>();
        string? token = null;
        do
        {
            var url = $"/api/projects/{P}/runs?limit=100" + (status is null ? "" : $"&status={status}") +
                (token is null ? "" : $"&continuationToken={Uri.EscapeDataString(token)}");
            var page = await (await Client.GetAsync(url)).JsonAsync();
            ids.AddRange(page["items"]!.AsArray().Select(r => (string)r!["runId"]!));
            token = (string?)page["continuationToken"];
        } while (token is not null);
        return ids;
    }

    private static async Task<string[]> RowIdsAsync(IPage page) =>
        await page.Locator("#runs tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.runId)");

    [Fact]
    public async Task TheProjectPageCountsRunsPerStatusAsTheApiDoesFiltersByStatusAndPages()
    {
        await SeedRunsAsync();
        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}").ToString());

        await Expect(page.Locator("[data-filter=all] .count")).ToHaveTextAsync("23");
        foreach (var status in new[] { "queued", "running", "completed", "failed", "cancelled" })
        {
            var expected = (await ApiRunIdsAsync(status)).Count.ToString(CultureInfo.InvariantCulture);
            await Expect(page.Locator($"[data-filter={status}] .count")).ToHaveTextAsync(expected);
        }

        // Newest first, a page of 20, then the rest.
        var all = await ApiRunIdsAsync();
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(20);
        Assert.Equal(all.Take(20), await RowIdsAsync(page));
        await page.Locator("#load-more").ClickAsync();
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(23);
        Assert.Equal(all, await RowIdsAsync(page));
        await Expect(page.Locator("#end-of-list")).ToBeVisibleAsync();

        // A filter shows only its runs, and says so.
        await page.Locator("[data-filter=failed]").ClickAsync();
        await Expect(page.Locator("[data-filter=failed]")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(3);
        Assert.Equal(await ApiRunIdsAsync("failed"), await RowIdsAsync(page));
        await Expect(page.Locator("#runs tbody tr[data-status=failed] .badge")).ToHaveCountAsync(3);

        // Live: a run that starts moves between the counts without a reload.
        await page.Locator("[data-filter=all]").ClickAsync();
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(20);
        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{Id(23)}", """{"status":"running","step":"voice"}""")).EnsureSuccessStatusCode();
        await Expect(page.Locator($"#runs tr[data-run-id={Id(23)}] .badge")).ToHaveTextAsync("▶Running");
        await Expect(page.Locator("[data-filter=running] .count")).ToHaveTextAsync("5");
        await Expect(page.Locator("[data-filter=queued] .count")).ToHaveTextAsync("10");

        // Each row links to its run page, carrying the page's token (none here: the API is open).
        await page.Locator($"#runs tr[data-run-id={Id(23)}] a").ClickAsync();
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("▶Running");
        Assert.EndsWith($"/api/dashboard/projects/{P}/runs/{Id(23)}", page.Url, StringComparison.Ordinal);
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task AProjectWithoutRunsSaysSoAndWhatToDo()
    {
        await using var browser = await Browser.OpenAsync();
        await browser.Page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}").ToString());
        var empty = browser.Page.Locator("[data-state=empty]");
        await Expect(empty).ToContainTextAsync("No runs yet");
        await Expect(empty).ToContainTextAsync("POST /api/pipelines");
        await Expect(browser.Page.Locator("[data-filter=all] .count")).ToHaveTextAsync("0");
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task TheCostsPageShowsTheApisAverageAndCostliestRunsAndDrawsTheChart()
    {
        foreach (var (runId, tokens) in new[] { ("c1", 1000), ("c2", 50000), ("c3", 200000) })
        {
            await StartAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}"}""");
            var report = $$"""{"agent":"publisher","status":"completed","usage":{"model":"gpt-4o","inputTokens":{{tokens}},"outputTokens":100} }""";
            (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", report)).EnsureSuccessStatusCode();
        }
        var summary = await (await Client.GetAsync($"/api/costs/summary?projectId={P}")).JsonAsync();
        var top = (await (await Client.GetAsync($"/api/costs/top?projectId={P}&limit=10")).JsonAsync())["items"]!.AsArray();
        Assert.Equal(3, (int)summary["runCount"]!);

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/costs?projectId={P}").ToString());
        await Expect(page.Locator("#run-count")).ToHaveTextAsync("3");
        var average = await page.Locator("#average-cost").InnerTextAsync();
        Assert.Equal((decimal)summary["averageCost"]!, decimal.Parse(average.TrimStart('$'), NumberStyles.Number, CultureInfo.InvariantCulture));
        await Expect(page.Locator("#top-runs tbody tr")).ToHaveCountAsync(top.Count);
        Assert.Equal(top.Select(t => (string)t!["runId"]!),
            await page.Locator("#top-runs tbody tr td:first-child").AllInnerTextsAsync());
        // One bar per day of the window, today's carrying the runs.
        await Expect(page.Locator("#chart svg g.bar")).ToHaveCountAsync(30);
        await Expect(page.Locator("#chart svg g.bar title").Last).ToContainTextAsync("over 3 runs");

        // Another window redraws from the API.
        await page.Locator("#window").SelectOptionAsync("7");
        await Expect(page.Locator("#chart svg g.bar")).ToHaveCountAsync(7);
        Assert.Empty(browser.ConsoleErrors);
    }
}

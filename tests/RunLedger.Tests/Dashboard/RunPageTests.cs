using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using RunLedger.Tests.Packaging;
using RunLedger.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace RunLedger.Tests.Dashboard;

/// <summary>
/// The run page in a real browser (Chromium through Playwright), against the real worker under the
/// local Functions host: opened from a run's dashboardUrl, following queue reports live.
/// </summary>
[Trait("Category", "Browser")]
public sealed class RunPageTests(BrowserHost host) : LedgerTest(host), IClassFixture<BrowserHost>
{
    private BrowserHost Browser => (BrowserHost)App;

    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private int _reports;

    /// <summary>
    /// Puts a report (a JSON object without the ids) on the progress queue, as an agent does, dated
    /// a second after the one before: the ledger orders reports by their time, and queue insertion
    /// times (used when a report has none) have whole seconds only.
    /// </summary>
    private Task SendAsync(string runId, string report)
    {
        var json = JsonNode.Parse(report)!.AsObject();
        json["projectId"] = P;
        json["runId"] = runId;
        json["timestamp"] = _start.AddSeconds(++_reports).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return App.SendProgressAsync(json.ToJsonString());
    }

    private static async Task<string[]> TimelineAsync(IPage page) =>
        await page.Locator("#timeline > li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.seq)");

    /// <summary>An amount as the page shows it ("$1,234.50").</summary>
    private static decimal Dollars(string text) =>
        decimal.Parse(text.Replace("$", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal), NumberStyles.Number, CultureInfo.InvariantCulture);

    private static string[] Seqs(int count) => [.. Enumerable.Range(1, count).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    /// <summary>Starts a run and sends the reports of a small pipeline through the queue.</summary>
    private async Task<(string RunId, string DashboardUrl)> StartAsync()
    {
        var run = await StartAsync($$"""{"config":{"invoice":{"markupRate":0.25} },"projectId":"{{P}}","triggeredBy":"make.com"}""");
        return ((string)run["runId"]!, (string)run["dashboardUrl"]!);
    }

    private async Task CompletePipelineAsync(string runId)
    {
        await SendAsync(runId, """
            {"eventId":"voice-done","agent":"voice","status":"completed","progress":100,"message":"Narration ready",
            "usage":{"model":"tts-1","characters":1500},"artifacts":{"narrationKey":"audio/narration.mp3"},
            "metadata":{"voice":{"voiceId":"rachel","characters":1500}}}
            """);
        await SendAsync(runId, """
            {"eventId":"music-done","agent":"music","status":"completed","progress":100,"message":"Soundtrack ready",
            "usage":{"model":"gpt-4o","inputTokens":12000,"outputTokens":3500},
            "metadata":{"music":{"mode":"generate","bpm":96}}}
            """);
        await App.ProgressDrainedAsync();
        await SendAsync(runId, """
            {"eventId":"publish-done","agent":"publisher","status":"completed","progress":100,"message":"Published",
            "artifacts":{"videoUrl":"https://www.youtube.com/watch?v=demo","creditsUrl":"javascript:alert(1)"}}
            """);
    }

    [Fact]
    public async Task ARunPageOpenedFromItsDashboardUrlFollowsQueueReportsToCompletedWithoutAReload()
    {
        var (runId, dashboardUrl) = await StartAsync();
        Assert.Equal(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}/runs/{runId}"), new Uri(dashboardUrl.Split('#')[0]));

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };
        await page.GotoAsync(dashboardUrl);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("◷Queued");
        await Expect(page.Locator("#timeline-empty")).ToBeVisibleAsync();

        await SendAsync(runId, """{"eventId":"voice-start","agent":"voice","status":"running","progress":40,"message":"Generating narration"}""");
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("▶Running");
        await Expect(page.Locator("#run-message")).ToHaveTextAsync("Generating narration");

        await CompletePipelineAsync(runId);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("✓Completed");
        await Expect(page.Locator("#stream-state")).ToContainTextAsync("finished");
        Assert.Equal(Seqs(4), await TimelineAsync(page));
        Assert.Equal(1, navigations);

        // Times in the viewer's zone (the browser is in New York), the exact UTC time on hover.
        var created = page.Locator(".run-summary time").First;
        var createdAt = DateTimeOffset.Parse((string)(await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync())["createdAt"]!, CultureInfo.InvariantCulture);
        await Expect(created).ToHaveAttributeAsync("title", createdAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss' UTC'", CultureInfo.InvariantCulture));
        var newYork = TimeZoneInfo.ConvertTime(createdAt, TimeZoneInfo.FindSystemTimeZoneById("America/New_York"));
        await Expect(created).ToContainTextAsync(newYork.ToString("h:mm:ss", CultureInfo.InvariantCulture));

        // The invoice as the API computes it, once final.
        await Expect(page.Locator("#invoice caption")).ToHaveTextAsync("Invoice");
        var costs = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/costs")).JsonAsync();
        var total = (decimal)costs["invoice"]!["total"]!;
        Assert.True(total > 0, "the pipeline's usage should cost something");
        var shown = await page.Locator("#invoice-total").InnerTextAsync();
        Assert.Equal(total, Dollars(shown));
        Assert.Equal((decimal)costs["invoice"]!["subtotal"]!,
            Dollars(await page.Locator("#invoice-subtotal").InnerTextAsync()));
        await Expect(page.Locator("#cost-rows tbody tr")).ToHaveCountAsync(costs["rows"]!.AsArray().Count);

        // Artifacts: only http(s) values become links.
        await Expect(page.Locator("#artifact-list a[href='https://www.youtube.com/watch?v=demo']")).ToHaveCountAsync(1);
        await Expect(page.Locator("#artifact-list a")).ToHaveCountAsync(1);
        await Expect(page.Locator("#artifact-list")).ToContainTextAsync("javascript:alert(1)");
        await Expect(page.Locator("#artifact-list")).ToContainTextAsync("audio/narration.mp3");
        await Expect(page.GetByText("rachel")).ToBeVisibleAsync();

        Assert.Empty(browser.ConsoleErrors);
    }

    /// <summary>
    /// Ids that are also words of the dashboard's own paths: the pages take their ids and the API's
    /// address from their route, matched from its end, so any id works (issue 18: a project named
    /// "dashboard" showed "Could not load run undefined").
    /// </summary>
    [Theory]
    [InlineData("dashboard")]
    [InlineData("projects")]
    [InlineData("runs")]
    [InlineData("api")]
    public async Task TheRunAndProjectPagesWorkForAProjectAndRunNamedLikeAPartOfTheirPath(string id)
    {
        var dashboardUrl = (string)(await StartAsync($$"""{"projectId":"{{id}}","runId":"{{id}}"}"""))["dashboardUrl"]!;
        (await Client.PostJsonAsync($"/api/projects/{id}/runs/{id}/progress", """{"agent":"voice","message":"Narrating","progress":30}"""))
            .EnsureSuccessStatusCode();

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(dashboardUrl);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("▶Running");
        await Expect(page.Locator("#run-message")).ToHaveTextAsync("Narrating");
        await Expect(page.Locator("#timeline > li")).ToHaveCountAsync(1);

        // The project page lists the run, and its link leads back to the run page.
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{id}").ToString());
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("[data-filter=all] .count")).ToHaveTextAsync("1");
        await page.Locator("#runs tbody tr a").First.ClickAsync();
        await Expect(page.Locator("#run-message")).ToHaveTextAsync("Narrating");
        Assert.Equal($"/api/dashboard/projects/{id}/runs/{id}", new Uri(page.Url).AbsolutePath);

        // Every API call went to this project's own paths, and none failed.
        Assert.NotEmpty(browser.ApiResponses);
        Assert.All(browser.ApiResponses, r =>
        {
            Assert.StartsWith($"/api/projects/{id}/", new Uri(r.Request.Url).AbsolutePath, StringComparison.Ordinal);
            Assert.True(r.Status < 400, $"{r.Request.Url} answered {r.Status}");
        });
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task APageReadsItsIdsAndTheApisPrefixFromTheEndOfItsOwnPath()
    {
        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(Client.BaseAddress!, "/api/dashboard/costs").ToString());
        await Expect(page.Locator("#summary")).ToBeVisibleAsync();
        var cases = new (string Path, string Expected)[]
        {
            ("/api/dashboard/projects/dashboard/runs/dashboard", """{"name":"run","prefix":"/api","projectId":"dashboard","runId":"dashboard"}"""),
            ("/api/dashboard/projects/projects/runs/runs", """{"name":"run","prefix":"/api","projectId":"projects","runId":"runs"}"""),
            ("/api/dashboard/projects/runs", """{"name":"project","prefix":"/api","projectId":"runs"}"""),
            ("/api/dashboard/projects/costs/", """{"name":"project","prefix":"/api","projectId":"costs"}"""),
            ("/dashboard/api/dashboard/projects/api/runs/r1", """{"name":"run","prefix":"/dashboard/api","projectId":"api","runId":"r1"}"""),
            ("/ledger/v1/dashboard/costs", """{"name":"costs","prefix":"/ledger/v1"}"""),
            ("/API/Dashboard/Projects/p1/Runs/r1", """{"name":"run","prefix":"/API","projectId":"p1","runId":"r1"}"""),
            ("/api/dashboard/projects//runs/r1", "null"),
            ("/api/dashboard/assets/run.js", "null"),
        };
        foreach (var (path, expected) in cases)
        {
            var parsed = await page.EvaluateAsync<string>(
                "async path => { const m = await import('./assets/common.js'); const r = m.parseRoute(path); return JSON.stringify(r && Object.fromEntries(Object.entries(r).sort())); }",
                path);
            Assert.True(expected == parsed, $"{path}: {parsed}");
        }
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task ADroppedStreamResumesWithLastEventIdWithoutMissingOrRepeatingAnEvent()
    {
        var (runId, dashboardUrl) = await StartAsync();
        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;

        // The second connection to the stream is cut (as a network failure); the server also ends
        // every stream after 3 s. Both kinds of drop must be resumed.
        var connections = new List<string?>();
        await page.RouteAsync("**/events", async route =>
        {
            int n;
            lock (connections)
            {
                connections.Add(route.Request.Headers.TryGetValue("last-event-id", out var id) ? id : null);
                n = connections.Count;
            }
            if (n == 2) await route.AbortAsync("connectionreset");
            else await route.ContinueAsync();
        });
        await page.GotoAsync(dashboardUrl);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("◷Queued");

        for (var i = 1; i <= 3; i++)
        {
            await SendAsync(runId, $$"""{"eventId":"e{{i}}","agent":"voice","status":"running","progress":{{i * 10}}}""");
        }
        await Expect(page.Locator("#timeline > li")).ToHaveCountAsync(3);
        // Wait out at least two more connections (the cut one and a server-ended one).
        await page.WaitForRequestAsync(r => r.Url.EndsWith("/events", StringComparison.Ordinal) && r.Headers.ContainsKey("last-event-id"),
            new() { Timeout = 60_000 });
        for (var i = 4; i <= 6; i++)
        {
            await SendAsync(runId, $$"""{"eventId":"e{{i}}","agent":"voice","status":"running","progress":{{i * 10}}}""");
        }
        await Expect(page.Locator("#timeline > li")).ToHaveCountAsync(6);
        await Expect(page.Locator("#stream-state")).ToHaveAttributeAsync("data-state", "live");
        await SendAsync(runId, """{"eventId":"e7","agent":"publisher","status":"completed"}""");
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("✓Completed");
        await Expect(page.Locator("#timeline > li")).ToHaveCountAsync(7);

        Assert.Equal(Seqs(7), await TimelineAsync(page));
        List<string?> seen;
        lock (connections) seen = [.. connections];
        Assert.True(seen.Count >= 3, $"expected the stream to be resumed at least twice, saw {seen.Count} connections");
        Assert.Null(seen[0]);
        Assert.All(seen.Skip(1), id => Assert.NotNull(id));
        // Last-Event-ID never goes backwards: no event is asked for twice.
        var ids = seen.Skip(1).Select(id => long.Parse(id!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task AFailedRunShowsItsErrorProminently()
    {
        var (runId, dashboardUrl) = await StartAsync();
        await SendAsync(runId, """{"eventId":"v","agent":"voice","status":"failed","error":"ElevenLabs quota exceeded <script>alert(1)</script>"}""");
        await App.ProgressDrainedAsync();

        await using var browser = await Browser.OpenAsync();
        await browser.Page.GotoAsync(dashboardUrl);
        var alert = browser.Page.Locator(".run-failure[role=alert]");
        await Expect(alert).ToBeVisibleAsync();
        await Expect(alert.Locator("h2")).ToHaveTextAsync("✕ This run failed");
        // Shown as text, never as markup.
        await Expect(browser.Page.Locator("#run-error-text")).ToHaveTextAsync("ElevenLabs quota exceeded <script>alert(1)</script>");
        await Expect(browser.Page.Locator("#run-status")).ToHaveTextAsync("✕Failed");
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task TheInvoiceCsvDownloadsWithTheSameLinesAsTheApi()
    {
        var (runId, dashboardUrl) = await StartAsync();
        await CompletePipelineAsync(runId);
        await App.ProgressDrainedAsync();

        await using var browser = await Browser.OpenAsync();
        await browser.Page.GotoAsync(dashboardUrl);
        await Expect(browser.Page.Locator("#invoice caption")).ToHaveTextAsync("Invoice");
        var download = await browser.Page.RunAndWaitForDownloadAsync(() => browser.Page.Locator("#download-csv").ClickAsync());
        Assert.Equal($"invoice-{P}-{runId}.csv", download.SuggestedFilename);
        var path = await download.PathAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/costs");
        request.Headers.Accept.ParseAdd("text/csv");
        var expected = await (await Client.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Equal(expected, await File.ReadAllTextAsync(path));
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task OnAPhoneTheRunPageFitsTheScreenAndIsKeptAsAScreenshot()
    {
        var (runId, dashboardUrl) = await StartAsync();
        await CompletePipelineAsync(runId);
        await App.ProgressDrainedAsync();

        await using var browser = await Browser.OpenAsync(phone: true);
        var page = browser.Page;
        await page.GotoAsync(dashboardUrl);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("✓Completed");
        await Expect(page.Locator("#invoice caption")).ToHaveTextAsync("Invoice");
        await Expect(page.Locator("#stream-state")).ToContainTextAsync("finished");

        // Nothing wider than the screen: no sideways scrolling of the page itself.
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow}px wider than a 390px phone screen");

        Directory.CreateDirectory(BrowserHost.ArtifactsDirectory);
        var shot = Path.Combine(BrowserHost.ArtifactsDirectory, "run-page-phone.png");
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot should show the page");
        // The README's picture: refreshed on request (RUNLEDGER_UPDATE_SCREENSHOT=1), not on every run.
        if (Environment.GetEnvironmentVariable("RUNLEDGER_UPDATE_SCREENSHOT") == "1")
        {
            File.Copy(shot, RepoFiles.FullPath(Path.Combine("docs", "dashboard-run.png")), overwrite: true);
        }
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task TheRunPageIsUsableWithTheKeyboardAlone()
    {
        var (runId, dashboardUrl) = await StartAsync();
        await CompletePipelineAsync(runId);
        await App.ProgressDrainedAsync();

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(dashboardUrl);
        await Expect(page.Locator("#invoice caption")).ToHaveTextAsync("Invoice");

        // Tab reaches the skip link first, then every link and the CSV button, each visibly focused.
        var reached = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("document.activeElement.id || document.activeElement.textContent.trim()"));
        }
        Assert.Equal("Skip to content", reached[0]);
        Assert.Contains("download-csv", reached);
        Assert.Empty(browser.ConsoleErrors);
    }
}

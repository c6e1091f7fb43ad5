using System.Text.Json.Nodes;
using Microsoft.Playwright;
using RunLedger.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace RunLedger.Tests.Dashboard;

/// <summary>The printable monthly statement in a real browser, against the real worker under the local Functions host.</summary>
[Trait("Category", "Browser")]
public sealed class StatementPageTests(BrowserHost host) : LedgerTest(host), IClassFixture<BrowserHost>
{
    private BrowserHost Browser => (BrowserHost)App;

    [Fact]
    public async Task TheStatementPageShowsTheMonthsChargesAndTotalsAsTheApiDoesAndPrintsWithoutTheNavigation()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            """{"agent":"narration","usage":{"model":"m","costUsd":12.34}}""")).EnsureSuccessStatusCode();
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var statement = await (await Client.GetAsync($"/api/projects/{P}/statements/{month}")).JsonAsync();

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        var console = new List<string>();
        page.Console += (_, m) => console.Add(m.Text);
        page.PageError += (_, e) => console.Add(e);
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}/statements/{month}").ToString());

        await Expect(page.Locator("body[data-page=ready]")).ToHaveCountAsync(1);
        Assert.Empty(console);
        await Expect(page.Locator("h1")).ToContainTextAsync($"Statement for {month} (open)");
        await Expect(page.Locator("#period")).ToHaveTextAsync($"{month}-01 to {DateTime.ParseExact(month, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture).AddMonths(1).AddDays(-1):yyyy-MM-dd}");
        await Expect(page.Locator("#subtotal")).ToHaveTextAsync(Dollars((decimal)statement["subtotal"]!));
        await Expect(page.Locator("#total")).ToHaveTextAsync(Dollars((decimal)statement["total"]!));
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#lines tbody tr td").First).ToHaveTextAsync("narration");

        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        await Expect(page.Locator("header.top")).ToBeHiddenAsync();
        await Expect(page.Locator("#total")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "statement-print.png"), FullPage = true });
    }

    [Fact]
    public async Task TheProjectPageLinksToThisMonthsStatement()
    {
        await StartAsync($$"""{"projectId":"{{P}}"}""");
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}").ToString());

        await page.Locator("#nav a", new() { HasText = "Statement" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/api/dashboard/projects/{P}/statements/{month}$"));
        await Expect(page.Locator("body[data-page=ready]")).ToHaveCountAsync(1);
        await Expect(page.Locator("#nav a[aria-current=page]")).ToHaveTextAsync("Statement");
    }

    [Fact]
    public async Task AMonthThatIsNotOneIsRefusedBeforeThePageLoads()
    {
        var response = await Client.GetAsync($"/api/dashboard/projects/{P}/statements/2026-13");

        await response.AssertProblemAsync(400);
    }

    /// <summary>As the page's Intl.NumberFormat('en-US', USD) writes it: $1,234.50.</summary>
    private static string Dollars(decimal amount) => "$" + amount.ToString("#,0.00", System.Globalization.CultureInfo.InvariantCulture);
}

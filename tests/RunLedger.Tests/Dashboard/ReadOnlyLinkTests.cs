using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using RunLedger.Access;
using RunLedger.Ledger;
using RunLedger.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace RunLedger.Tests.Dashboard;

/// <summary>
/// The dashboard with access enforced (admin keys and a signing secret set): pages opened from
/// read-only links, and what a link's token can and cannot read, in a real browser.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ReadOnlyLinkTests(ReadOnlyLinkTests.Host host) : LedgerTest(host), IClassFixture<ReadOnlyLinkTests.Host>
{
    public const string AdminKey = "dashboard-admin-key";
    public const string Secret = "dashboard-tests-signing-secret";

    public sealed class Host : BrowserHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [.. base.MoreSettings, new("RunLedger__AdminKeys", AdminKey), new("RunLedger__SigningSecrets", Secret)];
    }

    private BrowserHost Browser => (BrowserHost)App;

    private Task<HttpResponseMessage> SendAsync(string? key, HttpMethod method, string url, string? json = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (key is not null) request.Headers.Add("x-functions-key", key);
        if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        return Client.SendAsync(request);
    }

    private async Task<JsonObject> StartAsAdminAsync(string projectId)
    {
        var response = await SendAsync(AdminKey, HttpMethod.Post, "/api/pipelines", $$"""{"projectId":"{{projectId}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await response.JsonAsync();
    }

    private static string TokenOf(string url) => url.Split("#token=")[1];

    /// <summary>The app's own minting, with the host's secret, for tokens the API would never hand out (expired ones).</summary>
    private static Credentials Minter() => new(
        Options.Create(new LedgerOptions { SigningSecrets = Secret }), new ConfigurationBuilder().Build(),
        TimeProvider.System, NullLogger<Credentials>.Instance);

    [Fact]
    public async Task ARunLinkOpensItsRunPageAndSendsItsTokenOnlyAsAHeaderOfThePagesOwnRequests()
    {
        var run = await StartAsAdminAsync(P);
        var url = (string)run["dashboardUrl"]!;
        var token = TokenOf(url);
        Assert.StartsWith(Credentials.ReadTokenPrefix, token, StringComparison.Ordinal);

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(url);
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("◷Queued");
        await Expect(page.Locator("#invoice")).ToBeVisibleAsync();
        await Expect(page.Locator("#stream-state")).ToHaveAttributeAsync("data-state", "live");

        var responses = browser.ApiResponses;
        Assert.NotEmpty(responses);
        Assert.All(responses, r =>
        {
            Assert.Equal(200, r.Status);
            Assert.Equal(token, r.Request.Headers["x-functions-key"]);
            Assert.DoesNotContain(token, r.Request.Url, StringComparison.Ordinal);
        });
        foreach (var (request, _) in responses)
        {
            var sent = await request.AllHeadersAsync();
            Assert.False(sent.ContainsKey("referer"), $"the page sent a Referer: {sent.GetValueOrDefault("referer")}");
        }
        // A run link does not offer pages it cannot open.
        await Expect(page.Locator("#nav a")).ToHaveCountAsync(0);
        await Expect(page.Locator($"a[href*='/dashboard/projects/{P}#']")).ToHaveCountAsync(0);
        await Expect(page.Locator("#link-scope")).ToContainTextAsync("this run only");
        Assert.Empty(browser.ConsoleErrors);
    }

    [Fact]
    public async Task ARunLinkCannotReadAnotherRunOrProjectNorChangeAnything()
    {
        var token = TokenOf((string)(await StartAsAdminAsync(P))["dashboardUrl"]!);
        var runId = (string)(await StartAsAdminAsync(P))["runId"]!; // another run of the same project
        var other = P + "-other";
        var otherRunId = (string)(await StartAsAdminAsync(other))["runId"]!;

        foreach (var url in new[]
        {
            $"/api/projects/{P}/runs/{runId}", $"/api/projects/{P}/runs/{runId}/events", $"/api/projects/{P}/runs/{runId}/costs",
            $"/api/projects/{P}/runs", $"/api/projects/{other}/runs/{otherRunId}", $"/api/costs/summary?projectId={P}",
        })
        {
            await (await SendAsync(token, HttpMethod.Get, url)).AssertProblemAsync(403);
        }
        await (await SendAsync(token, HttpMethod.Patch, $"/api/projects/{P}/runs/{runId}", """{"message":"x"}""")).AssertProblemAsync(403);

        // In the browser: the same link pointed at another run shows an error page, and the page's own requests got 403.
        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{other}/runs/{otherRunId}#token={token}").ToString());
        var error = page.Locator("[data-state=error]");
        await Expect(error).ToContainTextAsync("(403)");
        await Expect(error).ToContainTextAsync("Ask for a link to this one");
        Assert.Contains(browser.ApiResponses, r => r.Status == 403);
        Assert.DoesNotContain(browser.ApiResponses, r => r.Status == 200);
    }

    [Fact]
    public async Task ATamperedOrExpiredTokenShowsAnErrorPageAndThePagesRequestsGet401()
    {
        var run = await StartAsAdminAsync(P);
        var runId = (string)run["runId"]!;
        var token = TokenOf((string)run["dashboardUrl"]!);
        // One character of the signature changed; and a well-signed token that expired a minute ago.
        var tampered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];
        var expired = Minter().MintReadToken(P, runId, DateTimeOffset.UtcNow.AddMinutes(-1));
        // The expired token is otherwise good: the same minting, valid, reads the run.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Minter().MintReadToken(P, runId, DateTimeOffset.UtcNow.AddMinutes(5)), HttpMethod.Get, $"/api/projects/{P}/runs/{runId}")).StatusCode);

        foreach (var (bad, says) in new[] { (tampered, "signature"), (expired, "expired") })
        {
            await using var browser = await Browser.OpenAsync();
            var page = browser.Page;
            await page.GotoAsync(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}/runs/{runId}#token={bad}").ToString());
            var error = page.Locator("[data-state=error]");
            await Expect(error).ToContainTextAsync("(401)");
            await Expect(error).ToContainTextAsync(says);
            await Expect(error).ToContainTextAsync("Ask whoever shared it for a new link");
            Assert.NotEmpty(browser.ApiResponses);
            Assert.All(browser.ApiResponses, r => Assert.Equal(401, r.Status));
            // The only console errors are the browser's own notes of those 401s.
            Assert.All(browser.ConsoleErrors, e => Assert.Contains("401", e, StringComparison.Ordinal));
            await (await SendAsync(bad, HttpMethod.Get, $"/api/projects/{P}/runs/{runId}")).AssertProblemAsync(401);
        }
    }

    [Fact]
    public async Task KeyHoldersGetAFreshRunLinkWhileReadTokenHoldersGetTheAddressWithoutANewToken()
    {
        var runId = (string)(await StartAsAdminAsync(P))["runId"]!;
        var keyResponse = await SendAsync(AdminKey, HttpMethod.Post, $"/api/projects/{P}/keys");
        var projectKey = (string)(await keyResponse.JsonAsync())["key"]!;

        var byProjectKey = (string)(await (await SendAsync(projectKey, HttpMethod.Get, $"/api/projects/{P}/runs/{runId}")).JsonAsync())["dashboardUrl"]!;
        Assert.StartsWith(Credentials.ReadTokenPrefix, TokenOf(byProjectKey), StringComparison.Ordinal);
        var listed = await (await SendAsync(projectKey, HttpMethod.Get, $"/api/projects/{P}/runs")).JsonAsync();
        Assert.Contains("#token=rlt_", (string)listed["items"]![0]!["dashboardUrl"]!, StringComparison.Ordinal);

        var token = TokenOf(byProjectKey);
        var byToken = (string)(await (await SendAsync(token, HttpMethod.Get, $"/api/projects/{P}/runs/{runId}")).JsonAsync())["dashboardUrl"]!;
        Assert.Equal(byProjectKey.Split('#')[0], byToken);
    }

    [Fact]
    public async Task AProjectLinkOpensTheProjectPageItsRunsAndItsCosts()
    {
        for (var i = 0; i < 3; i++) await StartAsAdminAsync(P);
        var link = await (await SendAsync(AdminKey, HttpMethod.Post, $"/api/projects/{P}/links", """{"expiresIn":"PT1H"}""")).JsonAsync();
        var url = (string)link["url"]!;
        Assert.StartsWith(new Uri(Client.BaseAddress!, $"/api/dashboard/projects/{P}#token=").ToString(), url, StringComparison.Ordinal);

        await using var browser = await Browser.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(url);
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("#link-scope")).ToContainTextAsync("project");
        await page.Locator("#runs tbody tr a").First.ClickAsync();
        await Expect(page.Locator("#run-status")).ToHaveTextAsync("◷Queued");
        await page.Locator("#nav a", new() { HasText = "Costs" }).ClickAsync();
        await Expect(page.Locator("[data-state=empty]")).ToContainTextAsync("No completed runs");
        Assert.All(browser.ApiResponses, r => Assert.Equal(200, r.Status));
        Assert.Empty(browser.ConsoleErrors);
    }
}

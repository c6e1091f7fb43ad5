using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RunLedger.Dashboard;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Dashboard;

/// <summary>
/// The dashboard's files as served over HTTP: the security headers of a page that carries a token
/// in its URL, no inline script, only the shipped assets, and each run's dashboardUrl.
/// </summary>
public sealed partial class DashboardSiteTests(DashboardSiteTests.Host host) : LedgerTest(host), IClassFixture<DashboardSiteTests.Host>
{
    /// <summary>Links based on a configured address (as behind a custom domain).</summary>
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [new("RunLedger__DashboardBaseUrl", "https://ledger.example.com/dashboard/")];
    }

    private string[] Pages => [$"/api/dashboard/projects/{P}", $"/api/dashboard/projects/{P}/runs/RUN_1", "/api/dashboard/costs"];

    [Fact]
    public async Task EveryPageIsServedWithHeadersThatKeepScriptsOwnFramingOutAndTheTokenOutOfReferers()
    {
        foreach (var page in Pages)
        {
            var response = await Client.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.True(response.Headers.CacheControl?.NoCache, $"{page} should be revalidated on every load");
        }
    }

    [Fact]
    public async Task PagesHoldNoInlineScriptOrStyleAndScriptsNeverWriteHtml()
    {
        foreach (var page in Pages)
        {
            var html = await Client.GetStringAsync(page);
            var scripts = ScriptTag().Matches(html);
            Assert.NotEmpty(scripts);
            Assert.All(scripts, s => Assert.Matches("""\bsrc="[^"]+\.js"[^>]*></script>""", s.Value + "</script>"));
            Assert.DoesNotMatch(InlineHandler(), html);
            Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
        }
        foreach (var asset in DashboardSite.AssetNames.Where(n => n.EndsWith(".js", StringComparison.Ordinal)))
        {
            var js = await Client.GetStringAsync($"/api/dashboard/assets/{asset}");
            foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function" })
            {
                Assert.False(js.Contains(sink, StringComparison.Ordinal), $"{asset} uses {sink}: build DOM with createElement and textContent");
            }
        }
    }

    [Fact]
    public async Task OnlyTheShippedAssetsAreServedWithTheirTypesAndNothingElse()
    {
        Assert.Contains("run.js", DashboardSite.AssetNames);
        foreach (var asset in DashboardSite.AssetNames)
        {
            var response = await Client.GetAsync($"/api/dashboard/assets/{asset}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var expected = Path.GetExtension(asset) switch { ".js" => "text/javascript", ".css" => "text/css", _ => "image/svg+xml" };
            Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
        foreach (var name in new[] { "project.html", "nothing.js", "RunLedger.dll", "host.json", "..%2Fhost.json", "%2E%2E%2F%2E%2E%2Fhost.json", "..%5Cpricing.json" })
        {
            var response = await Client.GetAsync($"/api/dashboard/assets/{name}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/api/dashboard/assets/../../host.json")).StatusCode);
    }

    [Fact]
    public async Task AnUnchangedFileIsNotSentAgain()
    {
        var first = await Client.GetAsync("/api/dashboard/assets/run.js");
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/dashboard/assets/run.js");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var second = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public async Task APageForAnInvalidIdIs400()
    {
        await (await Client.GetAsync($"/api/dashboard/projects/{P}/runs/bad%20id")).AssertProblemAsync(400);
    }

    [Fact]
    public async Task EveryAnswerCarryingARunLinksToItsRunPageOnTheConfiguredAddress()
    {
        var started = await StartAsync($$"""{"projectId":"{{P}}"}""");
        var runId = (string)started["runId"]!;
        var expected = $"https://ledger.example.com/dashboard/projects/{P}/runs/{runId}";
        Assert.Equal(expected, ((string)started["dashboardUrl"]!).Split('#')[0]);
        // Open (Development, no keys): every caller counts as an admin, so links carry a read token.
        Assert.StartsWith("token=rlt_", ((string)started["dashboardUrl"]!).Split('#')[1], StringComparison.Ordinal);
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal(expected, ((string)run["dashboardUrl"]!).Split('#')[0]);
        var latest = await (await Client.GetAsync($"/api/projects/{P}/runs/latest")).JsonAsync();
        Assert.Equal(expected, ((string)latest["dashboardUrl"]!).Split('#')[0]);
        var list = await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync();
        Assert.Equal(expected, ((string)list["items"]![0]!["dashboardUrl"]!).Split('#')[0]);
        var patched = await (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", """{"message":"hi"}""")).JsonAsync();
        Assert.Equal(expected, ((string)patched["dashboardUrl"]!).Split('#')[0]);
    }

    [Fact]
    public async Task TheStoredRunHoldsNoLinkAndNoToken()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var stored = await App.Table.GetEntityAsync<Azure.Data.Tables.TableEntity>(P, $"run|{runId}");
        var text = string.Join("\n", stored.Value.Select(kv => kv.Value).Select(v => v is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : v?.ToString()));
        Assert.Contains(runId, text, StringComparison.Ordinal);
        Assert.DoesNotContain("dashboardUrl", text, StringComparison.Ordinal);
        Assert.DoesNotContain("rlt_", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLinkIsTheLedgersToSetNotACallers()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var detail = await (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", """{"dashboardUrl":"https://evil.example/"}""")).AssertProblemAsync(400);
        Assert.Contains("dashboardUrl", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-01-01T10:15:00Z", "2026-01-08T11:00:00Z")]
    [InlineData("2026-01-01T10:00:00Z", "2026-01-08T10:00:00Z")]
    [InlineData("2026-01-01T23:59:59.999Z", "2026-01-09T00:00:00Z")]
    public void ARunLinksTokenLastsTheLinkLifetimeRoundedUpToTheHourSoAnswersWithinTheHourAgree(string now, string expires)
    {
        var at = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.Parse(expires, System.Globalization.CultureInfo.InvariantCulture), RunLinks.Expiry(at, TimeSpan.FromDays(7)));
    }

    [GeneratedRegex("<script\\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptTag();

    [GeneratedRegex("\\son[a-z]+\\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineHandler();
}

using RunLedger.Http;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RunLedger.Access;
using RunLedger.Hosting;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// Every access rule, with the app and the local host run as in Azure: <c>AZURE_FUNCTIONS_ENVIRONMENT</c>
/// Production (the host's default when unset), admin keys and signing secrets set, the host's own key
/// required by its admin API. Each HTTP function is called with each kind of credential, and the answer
/// is 401/403 exactly when the credential does not grant what the function needs, in the project (and
/// run) the route names. (<c>./run.sh --production</c> runs the app the same way.)
/// </summary>
public sealed partial class ProductionAccessTests(ProductionAccessTests.Host host) : LedgerTest(host), IClassFixture<ProductionAccessTests.Host>
{
    private const string AdminKey = "production-admin-key-0123456789";
    private const string HostKey = "production-host-key-0123456789";
    private const string RunId = "RUN_PROD1";
    private const string OtherRunId = "RUN_PROD2";

    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [
            new("AZURE_FUNCTIONS_ENVIRONMENT", "Production"),
            new("RunLedger__AdminKeys", AdminKey),
            new("RunLedger__SigningSecrets", "production-signing-secret-0123456789abcdef"),
            new(FunctionsHost.Http.FunctionKeys.Setting, HostKey),
            new("RunLedger__StreamMaxDuration", "00:00:01"),
        ];
    }

    private sealed record Holder(string Kind, string? Key, Need Level, string? Project = null, string? Run = null);

    [Fact]
    public async Task EveryFunctionAnswersEachCredentialAsItsAccessRuleSaysUnderProductionSettings()
    {
        var admin = new Holder("admin key", AdminKey, Need.Admin);
        foreach (var runId in new[] { RunId, OtherRunId })
        {
            using var start = await SendAsync(admin, HttpMethod.Post, "/api/pipelines", $$$"""{"projectId":"{{{P}}}","runId":"{{{runId}}}","seedData":{}}""");
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        }
        Holder[] holders =
        [
            admin,
            new("no credential", null, Need.Anyone),
            new("a wrong key", "not-a-key", Need.Anyone),
            new("the project's key", await MintAsync($"/api/projects/{P}/keys", "key", ""), Need.Write, P),
            new("another project's key", await MintAsync($"/api/projects/{P}-other/keys", "key", ""), Need.Write, P + "-other"),
            new("a project read link", await MintAsync($"/api/projects/{P}/links", "token", "{}"), Need.Read, P),
            new("a run read link", await MintAsync($"/api/projects/{P}/links", "token", $$"""{"runId":"{{RunId}}"}"""), Need.Read, P, RunId),
        ];

        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var (name, methods, route, _, access) in OpenApiDocument.HttpFunctions(typeof(OpenApiDocument).Assembly).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var need = access?.Need ?? Need.Anyone;
            var path = "/api/" + Parameter().Replace(route, m => m.Groups["name"].Value switch
            {
                "projectId" => P,
                "runId" => RunId,
                "file" => "run.js",
                var other => other,
            });
            var routeRun = route.Contains("{runId", StringComparison.Ordinal) ? RunId : null;
            // Where the project is not in the route: the query names it, or the body does.
            var project = route.Contains("{projectId}", StringComparison.Ordinal) || access?.Project is ProjectFrom.Query or ProjectFrom.Body ? P : null;
            if (access?.Project == ProjectFrom.Query) path += $"?projectId={P}";
            // A run link must not reach project-wide data by naming its run in the query (issue 17).
            if (routeRun is null && project is not null) path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + $"runId={RunId}";
            foreach (var method in methods.Select(m => new HttpMethod(m.ToUpperInvariant())))
            {
                var body = method == HttpMethod.Get ? null : name == "StartPipeline" ? $$$"""{"projectId":"{{{P}}}","seedData":{}}""" : "{}";
                foreach (var holder in holders)
                {
                    var expected = Expected(holder, need, project, routeRun);
                    using var response = await SendAsync(holder, method, path, body);
                    var status = (int)response.StatusCode;
                    var refused = status is 401 or 403;
                    checkedCount++;
                    if (expected is null ? refused : status != expected)
                    {
                        failures.Add($"{method} {path} ({name}, needs {need}) with {holder.Kind}: {status}, expected {(expected is null ? "neither 401 nor 403" : expected)}");
                    }
                }
            }
        }

        Assert.True(checkedCount >= 25 * 7, $"Only {checkedCount} requests were checked.");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task TheHostsAdminApiNeedsTheHostsKeyNotAnAppKey()
    {
        using var withAppKey = await SendAsync(new Holder("admin", AdminKey, Need.Admin), HttpMethod.Post, "/admin/functions/StaleSweep", """{"input":""}""");
        using var withHostKey = await SendAsync(new Holder("host", HostKey, Need.Admin), HttpMethod.Post, "/admin/functions/StaleSweep", """{"input":""}""");

        Assert.Equal(HttpStatusCode.Unauthorized, withAppKey.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, withHostKey.StatusCode);
    }

    /// <summary>The status a refused request gets (401 without a valid credential, 403 outside its grant), or null where it must pass.</summary>
    private static int? Expected(Holder holder, Need need, string? project, string? routeRun)
    {
        if (need == Need.Anyone) return null;
        if (holder.Key is null || holder.Level == Need.Anyone) return 401;
        if (need > holder.Level) return 403;
        if (holder.Project is null) return null; // admin
        if (project != holder.Project) return 403;
        if (holder.Run is not null && routeRun != holder.Run) return 403;
        return null;
    }

    private async Task<HttpResponseMessage> SendAsync(Holder holder, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (holder.Key is not null) request.Headers.Add("x-functions-key", holder.Key);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return await Client.SendAsync(request);
    }

    private async Task<string> MintAsync(string url, string field, string body)
    {
        using var response = await SendAsync(new Holder("admin", AdminKey, Need.Admin), HttpMethod.Post, url, body.Length == 0 ? null : body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {url} answered {(int)response.StatusCode}: {text}");
        return (string)JsonNode.Parse(text)![field]!;
    }

    [GeneratedRegex(@"\{(?<name>\w+)(?::[^}]*)?\}")]
    private static partial Regex Parameter();
}

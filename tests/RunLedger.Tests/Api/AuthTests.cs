using RunLedger.Http;
using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Access;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// Access as the app enforces it under any host: admin keys, project keys and read-only link tokens,
/// one credential per request in <c>x-functions-key</c> or <c>?code=</c>.
/// </summary>
public sealed class AuthTests(AuthTests.Host host) : LedgerTest(host), IClassFixture<AuthTests.Host>
{
    public const string Secret = "auth-tests-signing-secret";

    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [
            new("RunLedger__AdminKeys", "key-one, key-two"),
            new("RunLedger__SigningSecrets", Secret),
        ];
    }

    private static HttpRequestMessage With(string? key, HttpMethod method, string url, string? json = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (key is not null) request.Headers.Add("x-functions-key", key);
        if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        return request;
    }

    private Task<HttpResponseMessage> Send(string? key, HttpMethod method, string url, string? json = null) =>
        Client.SendAsync(With(key, method, url, json));

    private async Task<string> ProjectKeyAsync(string projectId)
    {
        var response = await Send("key-one", HttpMethod.Post, $"/api/projects/{projectId}/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (string)(await response.JsonAsync())["key"]!;
    }

    private async Task<string> StartWithAsync(string key, string projectId)
    {
        var response = await Send(key, HttpMethod.Post, "/api/pipelines", $$"""{"projectId":"{{projectId}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.JsonAsync())["runId"]!;
    }

    private async Task<JsonObject> LinkAsync(string key, string projectId, string json = "{}")
    {
        var response = await Send(key, HttpMethod.Post, $"/api/projects/{projectId}/links", json);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    [Fact]
    public async Task RequestsWithoutAKeyAre401ProblemsAndReachNothing()
    {
        var detail = await (await Client.GetAsync($"/api/projects/{P}/runs")).AssertProblemAsync(401);
        Assert.Contains("x-functions-key", detail, StringComparison.Ordinal);
        await (await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}"}""")).AssertProblemAsync(401);
        await (await Client.GetAsync("/api/deadletters")).AssertProblemAsync(401);

        Assert.Equal(HttpStatusCode.NotFound, (await Send("key-one", HttpMethod.Get, $"/api/projects/{P}/runs/latest")).StatusCode); // the start created nothing
    }

    [Fact]
    public async Task AWrongKeyIs401()
    {
        await (await Send("key-on", HttpMethod.Get, $"/api/projects/{P}/runs")).AssertProblemAsync(401);
        await (await Client.GetAsync($"/api/projects/{P}/runs?code=key-one2")).AssertProblemAsync(401);
        await (await Send("rlk_made-up", HttpMethod.Get, $"/api/projects/{P}/runs")).AssertProblemAsync(403);
    }

    [Fact]
    public async Task AnyAdminKeyInTheHeaderOrCodeQueryIsAccepted()
    {
        Assert.Equal(HttpStatusCode.OK, (await Send("key-two", HttpMethod.Get, $"/api/projects/{P}/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync($"/api/projects/{P}/runs?code=key-one")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send("key-one", HttpMethod.Get, "/api/deadletters")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send("key-one", HttpMethod.Get, "/api/costs/summary")).StatusCode);
    }

    [Fact]
    public async Task HealthAndTheOpenApiDocumentAreAnonymous()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/openapi.json")).StatusCode);
    }

    [Fact]
    public async Task AProjectKeyReadsAndWritesItsProjectOnly()
    {
        var key = await ProjectKeyAsync(P);
        Assert.StartsWith(Credentials.ProjectKeyPrefix, key, StringComparison.Ordinal);
        var runId = await StartWithAsync(key, P);
        var run = $"/api/projects/{P}/runs/{runId}";

        Assert.Equal(HttpStatusCode.OK, (await Send(key, HttpMethod.Get, run)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync($"/api/projects/{P}/runs?code={key}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(key, HttpMethod.Patch, run, """{"message":"by the project"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Send(key, HttpMethod.Post, run + "/progress", """{"agent":"voice","step":"tts","progress":10}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(key, HttpMethod.Put, $"/api/projects/{P}/config", """{"invoice":{"markupRate":0.2}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(key, HttpMethod.Get, $"/api/costs/summary?projectId={P}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(key, HttpMethod.Get, run + "/costs")).StatusCode);
    }

    [Fact]
    public async Task AProjectKeyCannotTouchAnotherProjectOrAdminData()
    {
        var other = P + "-other";
        var otherRun = await StartWithAsync("key-one", other);
        var key = await ProjectKeyAsync(P);

        var detail = await (await Send(key, HttpMethod.Get, $"/api/projects/{other}/runs/{otherRun}")).AssertProblemAsync(403);
        Assert.Contains($"project '{other}'", detail, StringComparison.Ordinal);
        await (await Send(key, HttpMethod.Get, $"/api/projects/{other}/runs")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Patch, $"/api/projects/{other}/runs/{otherRun}", """{"message":"x"}""")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Get, $"/api/projects/{other}/config")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Post, "/api/pipelines", $$"""{"projectId":"{{other}}"}""")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Get, "/api/deadletters")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Get, "/api/costs/top")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Get, $"/api/costs/top?projectId={other}")).AssertProblemAsync(403);
        await (await Send(key, HttpMethod.Post, $"/api/projects/{P}/keys")).AssertProblemAsync(403);

        // The refused start wrote nothing: the other project still has its one run.
        var list = await (await Send("key-one", HttpMethod.Get, $"/api/projects/{other}/runs")).JsonAsync();
        Assert.Single(list["items"]!.AsArray());
    }

    [Fact]
    public async Task AProjectLinkReadsThatProjectAndChangesNothing()
    {
        var runId = await StartWithAsync("key-one", P);
        var other = P + "-x";
        var otherRun = await StartWithAsync("key-one", other);
        var link = await LinkAsync(await ProjectKeyAsync(P), P);
        var token = (string)link["token"]!;
        Assert.StartsWith(Credentials.ReadTokenPrefix, token, StringComparison.Ordinal);
        Assert.EndsWith($"/api/dashboard/projects/{P}#token={token}", (string)link["url"]!, StringComparison.Ordinal);

        var run = $"/api/projects/{P}/runs/{runId}";
        foreach (var read in new[] { run, run + "/costs", run + "/events", $"/api/projects/{P}/runs", $"/api/projects/{P}/runs/latest", $"/api/costs/summary?projectId={P}" })
        {
            var response = await Send(token, HttpMethod.Get, read);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{read}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var detail = await (await Send(token, HttpMethod.Patch, run, """{"message":"x"}""")).AssertProblemAsync(403);
        Assert.Contains("read-only", detail, StringComparison.Ordinal);
        await (await Send(token, HttpMethod.Post, run + "/progress", """{"agent":"voice","progress":5}""")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, $"/api/projects/{P}/config")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Post, "/api/pipelines", $$"""{"projectId":"{{P}}"}""")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Post, $"/api/projects/{P}/links", "{}")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, $"/api/projects/{other}/runs/{otherRun}")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, "/api/deadletters")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, "/api/costs/top")).AssertProblemAsync(403);

        var stored = await (await Send("key-one", HttpMethod.Get, run)).JsonAsync();
        Assert.Equal("Pipeline queued", (string)stored["message"]!);
    }

    [Fact]
    public async Task AReadLinkSeesCallbackUrlsAsOriginsOnly()
    {
        const string Hook = "https://hooks.example.com/wh/secret-path-123";
        var config = $$"""{"callbacks":[{"url":"{{Hook}}","events":["completed"],"secret":"0123456789abcdef0123"}]}""";
        Assert.Equal(HttpStatusCode.OK, (await Send("key-one", HttpMethod.Put, $"/api/projects/{P}/config", config)).StatusCode);
        var runId = await StartWithAsync("key-one", P);
        Assert.Equal(HttpStatusCode.Accepted, (await Send("key-one", HttpMethod.Post, $"/api/projects/{P}/runs/{runId}/progress",
            """{"agent":"publisher","status":"completed","eventId":"done"}""")).StatusCode);
        var token = (string)(await LinkAsync("key-one", P, $$"""{"runId":"{{runId}}"}"""))["token"]!;
        var run = $"/api/projects/{P}/runs/{runId}";

        var asReader = await (await Send(token, HttpMethod.Get, run)).JsonAsync();
        Assert.Equal("https://hooks.example.com/…", (string)asReader["configSnapshot"]!["callbacks"]![0]!["url"]!);
        var deliveries = await (await Send(token, HttpMethod.Get, run + "/callbacks")).JsonAsync();
        Assert.Equal("https://hooks.example.com/…", (string)deliveries["items"]![0]!["url"]!);

        var asOwner = await (await Send(await ProjectKeyAsync(P), HttpMethod.Get, run)).JsonAsync();
        Assert.Equal(Hook, (string)asOwner["configSnapshot"]!["callbacks"]![0]!["url"]!);
        Assert.Equal(Hook, (string)(await (await Send("key-one", HttpMethod.Get, run + "/callbacks")).JsonAsync())["items"]![0]!["url"]!);
        Assert.DoesNotContain("secret-path-123", asReader.ToJsonString() + deliveries.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARunLinkReadsThatRunOnly()
    {
        var runId = await StartWithAsync("key-one", P);
        var sibling = await StartWithAsync("key-one", P);
        var link = await LinkAsync("key-two", P, $$"""{"runId":"{{runId}}","expiresIn":"PT1H"}""");
        var token = (string)link["token"]!;
        Assert.EndsWith($"/api/dashboard/projects/{P}/runs/{runId}#token={token}", (string)link["url"]!, StringComparison.Ordinal);
        var expiresAt = DateTimeOffset.Parse((string)link["expiresAt"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));

        Assert.Equal(HttpStatusCode.OK, (await Send(token, HttpMethod.Get, $"/api/projects/{P}/runs/{runId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(token, HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/costs")).StatusCode);
        var detail = await (await Send(token, HttpMethod.Get, $"/api/projects/{P}/runs/{sibling}")).AssertProblemAsync(403);
        Assert.Contains($"run '{runId}'", detail, StringComparison.Ordinal);
        await (await Send(token, HttpMethod.Get, $"/api/projects/{P}/runs")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, $"/api/projects/{P}/runs/latest")).AssertProblemAsync(403);
        await (await Send(token, HttpMethod.Get, $"/api/costs/summary?projectId={P}")).AssertProblemAsync(403);
    }

    // Azure's host puts query parameters (and a JSON body's top-level members) into the binding data beside
    // the route's values (azure-webjobs-sdk-extensions HttpTriggerAttributeBindingProvider.GetRequestBindingData),
    // and so does the local host: a run's scope must come from a route that declares {runId}, never from
    // binding data a query string fills.
    [Theory]
    [InlineData("runs?runId={0}")]
    [InlineData("runs/latest?runId={0}")]
    [InlineData("runs/counts?runId={0}")]
    [InlineData("budget?runId={0}")]
    [InlineData("statements?runId={0}")]
    [InlineData("statements/2026-11?runId={0}")]
    public async Task ARunLinkCannotReachProjectWideDataByNamingItsRunInTheQuery(string path)
    {
        var runId = await StartWithAsync("key-one", P);
        var token = (string)(await LinkAsync("key-two", P, $$"""{"runId":"{{runId}}"}"""))["token"]!;

        var response = await Send(token, HttpMethod.Get, $"/api/projects/{P}/" + string.Format(System.Globalization.CultureInfo.InvariantCulture, path, runId));

        await response.AssertProblemAsync(403);
    }

    [Fact]
    public async Task TamperedAndExpiredLinksAre401()
    {
        var runId = await StartWithAsync("key-one", P);
        var token = (string)(await LinkAsync("key-one", P, $$"""{"runId":"{{runId}}"}"""))["token"]!;
        var url = $"/api/projects/{P}/runs/{runId}";

        // Swap the payload for one naming the whole project, keeping the signature: refused.
        var forged = Credentials.ReadTokenPrefix
            + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($$"""{"p":"{{P}}","exp":4102444800}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_')
            + token[token.IndexOf('.', StringComparison.Ordinal)..];
        var detail = await (await Send(forged, HttpMethod.Get, $"/api/projects/{P}/runs")).AssertProblemAsync(401);
        Assert.Contains("signature", detail, StringComparison.Ordinal);
        await (await Send(token[..^2] + (token[^2] == 'A' ? "BB" : "AA"), HttpMethod.Get, url)).AssertProblemAsync(401);
        await (await Send(token[..20], HttpMethod.Get, url)).AssertProblemAsync(401);

        // One minted with the app's secret an hour ago for half an hour.
        var past = new FixedClock(DateTimeOffset.UtcNow.AddHours(-1));
        var expired = AuthCredentials.For(Secret, past).MintReadToken(P, runId, past.GetUtcNow().AddMinutes(30));
        detail = await (await Send(expired, HttpMethod.Get, url)).AssertProblemAsync(401);
        Assert.Contains("expired", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("P0D")]
    [InlineData("-PT1H")]
    [InlineData("P91D")]
    [InlineData("tomorrow")]
    public async Task ALinkLifetimeOutsideItsBoundsIs400(string expiresIn)
    {
        var response = await Send("key-one", HttpMethod.Post, $"/api/projects/{P}/links", $$"""{"expiresIn":"{{expiresIn}}"}""");
        Assert.Contains("'expiresIn'", await response.AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALinkForAMissingRunIs404()
    {
        await (await Send("key-one", HttpMethod.Post, $"/api/projects/{P}/links", """{"runId":"RUN_nope"}""")).AssertProblemAsync(404);
    }

    [Fact]
    public void EveryHttpFunctionDeclaresItsAccessAndTheHostServesThemAnonymously()
    {
        var assembly = typeof(RunLedger.Hosting.LedgerServices).Assembly;
        var declared = (from type in assembly.GetTypes()
                        from method in type.GetMethods()
                        let function = method.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false).Cast<Microsoft.Azure.Functions.Worker.FunctionAttribute>().SingleOrDefault()
                        where function is not null
                        select (function.Name, Access: method.GetCustomAttributes(typeof(AccessAttribute), false).Cast<AccessAttribute>().SingleOrDefault()))
                       .ToDictionary(f => f.Name, f => f.Access);

        foreach (var (name, _, _, auth, _) in RunLedger.Hosting.OpenApiDocument.HttpFunctions(assembly))
        {
            Assert.True(declared[name] is not null, $"{name} declares no [Access]");
            Assert.Equal(Microsoft.Azure.Functions.Worker.AuthorizationLevel.Anonymous, auth);
        }
        // The dashboard's page shells and assets hold no data: what its pages show comes through the API.
        Assert.Equal(["DashboardAsset", "DashboardCostsPage", "DashboardProjectPage", "DashboardRunPage", "DashboardStatementPage", "GetOpenApiDocument", "Health"],
            declared.Where(d => d.Value?.Need == Need.Anyone).Select(d => d.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["CreateProjectKey", "GetOverview", "GetPricing", "ListDeadLetters", "PutModelPricing"], declared.Where(d => d.Value?.Need == Need.Admin).Select(d => d.Key).Order());
    }

    [Fact]
    public async Task KeysAndTokensNeverReachTheLogs()
    {
        var key = await ProjectKeyAsync(P);
        var token = (string)(await LinkAsync(key, P))["token"]!;
        await Client.GetAsync($"/api/projects/{P}/runs?code=key-one");
        await Client.GetAsync($"/api/projects/{P}/runs/RUN_missing?code=key-two");
        await Client.PostJsonAsync($"/api/pipelines?code={key}", $$"""{"projectId":"{{P}}"}""");
        await Client.GetAsync($"/api/projects/{P}/runs?code={token}");
        await Client.GetAsync($"/api/projects/{P}/runs?code=wrong-key-three");

        Assert.Contains(App.Harness.Logs, l => l.Message.Contains(P, StringComparison.Ordinal)); // the requests were logged about
        foreach (var secret in new[] { "key-one", "key-two", "wrong-key-three", key, token, Secret })
        {
            Assert.DoesNotContain(App.Harness.Logs, l => l.Message.Contains(secret, StringComparison.Ordinal));
        }
    }
}

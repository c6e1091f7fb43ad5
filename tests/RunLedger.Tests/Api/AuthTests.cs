using System.Net;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// Function keys, enforced by the host in front of the worker (the local host when keys are
/// configured, as the Azure host always does): one credential, in <c>x-functions-key</c> or <c>?code=</c>.
/// </summary>
public sealed class AuthTests(AuthTests.Host host) : LedgerTest(host), IClassFixture<AuthTests.Host>
{
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [new(FunctionsHost.Http.FunctionKeys.Setting, "key-one, key-two")];
    }

    [Fact]
    public async Task WithKeysConfiguredRequestsWithoutAKeyAre401AndReachNothing()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.GetAsync($"/api/projects/{P}/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.GetAsync("/api/deadletters")).StatusCode);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/latest");
        request.Headers.Add("x-functions-key", "key-one");
        Assert.Equal(HttpStatusCode.NotFound, (await Client.SendAsync(request)).StatusCode); // the start above created nothing
    }

    [Fact]
    public async Task AWrongKeyIs401()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs");
        request.Headers.Add("x-functions-key", "key-on");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.GetAsync($"/api/projects/{P}/runs?code=key-one2")).StatusCode);
    }

    [Fact]
    public async Task AnyConfiguredKeyInTheHeaderOrCodeQueryIsAccepted()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs");
        request.Headers.Add("x-functions-key", "key-two");
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync($"/api/projects/{P}/runs?code=key-one")).StatusCode);
    }

    [Fact]
    public async Task HealthAndTheOpenApiDocumentAreAnonymous()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/openapi.json")).StatusCode);
    }

    [Fact]
    public async Task EveryFunctionButHealthAndOpenApiDeclaresAuthLevelFunction()
    {
        var levels = RunLedger.Hosting.OpenApiDocument.HttpFunctions(typeof(RunLedger.Hosting.LedgerServices).Assembly)
            .ToDictionary(f => f.Name, f => f.Auth);

        // The dashboard's static files hold no data: what its pages show comes through the API.
        string[] anonymous = ["DashboardAsset", "DashboardCostsPage", "DashboardProjectPage", "DashboardRunPage", "GetOpenApiDocument", "Health"];
        Assert.Equal(anonymous,
            levels.Where(l => l.Value == Microsoft.Azure.Functions.Worker.AuthorizationLevel.Anonymous).Select(l => l.Key).Order(StringComparer.Ordinal));
        Assert.All(levels.Where(l => !anonymous.Contains(l.Key)),
            l => Assert.Equal(Microsoft.Azure.Functions.Worker.AuthorizationLevel.Function, l.Value));
    }

    [Fact]
    public async Task AKeyPresentedInTheQueryNeverReachesTheLogs()
    {
        await Client.GetAsync($"/api/projects/{P}/runs?code=key-one");
        await Client.GetAsync($"/api/projects/{P}/runs/RUN_missing?code=key-two");
        await Client.PostJsonAsync($"/api/pipelines?code=key-one", $$"""{"projectId":"{{P}}"}""");
        await Client.GetAsync($"/api/projects/{P}/runs?code=wrong-key-three");

        Assert.Contains(App.Harness.Logs, l => l.Message.Contains(P, StringComparison.Ordinal)); // the requests were logged about
        Assert.DoesNotContain(App.Harness.Logs, l => l.Message.Contains("key-one", StringComparison.Ordinal)
            || l.Message.Contains("key-two", StringComparison.Ordinal) || l.Message.Contains("wrong-key-three", StringComparison.Ordinal));
    }
}

using System.Net;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

public sealed class AuthTests : LedgerTest
{
    public AuthTests() => App.With("RunLedger:FunctionKeys", "key-one, key-two");

    [Fact]
    public async Task WithKeysConfiguredRequestsWithoutAKeyAre401()
    {
        var detail = await (await Client.GetAsync("/api/projects/p1/runs")).AssertProblemAsync(401);
        Assert.Contains("x-functions-key", detail, StringComparison.Ordinal);
        await (await Client.PostJsonAsync("/api/pipelines", """{"projectId":"p1"}""")).AssertProblemAsync(401);
    }

    [Fact]
    public async Task AWrongKeyIs401()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects/p1/runs");
        request.Headers.Add("x-functions-key", "key-on");
        await (await Client.SendAsync(request)).AssertProblemAsync(401);
    }

    [Fact]
    public async Task AnyConfiguredKeyInTheHeaderOrCodeQueryIsAccepted()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects/p1/runs");
        request.Headers.Add("x-functions-key", "key-two");
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/projects/p1/runs?code=key-one")).StatusCode);
    }

    [Fact]
    public async Task HealthAndTheHostReadinessProbeAreAnonymous()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task TheQueueInvocationPathAlsoNeedsAKeyWhenTheAppServesHttpItself()
    {
        await (await Client.PostJsonAsync("/AgentProgress", """{"Data":{"message":"{}"},"Metadata":{}}""")).AssertProblemAsync(401);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Http;

[Collection(HttpHostGroup.Name)]
public sealed class HttpTriggerTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task RouteParametersWithConstraintsAndTheQueryReachTheFunction()
    {
        var item = await Client.GetFromJsonAsync<JsonElement>("api/items/42?q=blue");

        Assert.Equal(42, item.GetProperty("id").GetInt32());
        Assert.Equal("blue", item.GetProperty("query").GetString());
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("POST")]
    public async Task EachDeclaredMethodReachesTheFunctionWithItsBody(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "api/items/tools/hammer") { Content = new StringContent("heavy") };
        using var response = await Client.SendAsync(request);

        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("tools", body.GetProperty("category").GetString());
        Assert.Equal("hammer", body.GetProperty("name").GetString());
        Assert.Equal(method, body.GetProperty("method").GetString());
        Assert.Equal("heavy", body.GetProperty("body").GetString());
    }

    [Theory]
    [InlineData("GET", "api/nowhere")]
    [InlineData("GET", "api/items/not-a-number")]
    [InlineData("GET", "ping")]
    [InlineData("GET", "api/items/tools/hammer/extra")]
    public async Task ARequestNoRouteMatchesIs404(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    // The Functions host matches methods as part of the route (HttpMethodRouteConstraint), so a
    // route whose methods do not include the request's is no match: 404, not 405.
    [Theory]
    [InlineData("DELETE", "api/items/tools/hammer")]
    [InlineData("POST", "api/ping")]
    public async Task AMethodTheFunctionDoesNotDeclareIs404AsUnderTheHost(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task AFunctionThatThrowsAnswers500ProblemJson()
    {
        using var response = await Client.GetAsync("api/throws");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(500, problem.GetProperty("status").GetInt32());
        Assert.Contains("failed on purpose", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerSentEventsArriveOneByOneAsTheFunctionWritesThem()
    {
        using var response = await Client.GetAsync("api/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var clock = Stopwatch.StartNew();
        var arrivals = new List<TimeSpan>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                arrivals.Add(clock.Elapsed);
            }
        }

        // The function writes five events 400 ms apart. Buffered, they would arrive together at
        // the end; streamed, they are spread over up to 1.6 s. Only the spread is asserted, with a
        // wide margin: on a busy machine the client may read its first events late, all at once
        // (CI once saw three arrive together, then the last two 350 and 750 ms later).
        Assert.Equal(5, arrivals.Count);
        Assert.True(arrivals[^1] - arrivals[0] > TimeSpan.FromMilliseconds(300), $"Events arrived at {string.Join(", ", arrivals)}");
    }

    [Fact]
    public async Task AClientThatDisconnectsCancelsTheInvocation()
    {
        var key = Guid.NewGuid().ToString("N");
        using var disconnect = new CancellationTokenSource();
        var request = Client.GetAsync($"api/slow/{key}", disconnect.Token);
        await fixture.Host.WaitForLogAsync($"Slow {key} started");

        await disconnect.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await fixture.Host.WaitForLogAsync($"Slow {key} cancelled", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task WithoutConfiguredKeysFunctionLevelFunctionsAreOpenAsUnderCoreTools()
    {
        using var response = await Client.GetAsync("api/secured");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

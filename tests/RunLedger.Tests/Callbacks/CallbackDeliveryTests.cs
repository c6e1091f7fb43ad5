using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Callbacks;

/// <summary>
/// Completion callbacks end to end: the run ends through the local host, the outbox record is
/// delivered by the queue-triggered function to a receiver on loopback (Development), which
/// verifies the signature. Retries are a few hundred milliseconds apart, three attempts at most.
/// </summary>
public sealed class CallbackDeliveryTests(CallbackHost host) : LedgerTest(host), IClassFixture<CallbackHost>
{
    private const string Secret = "s3cr3t-0123456789-abcdef";

    private CallbackReceiver Receiver => host.Receiver;

    private async Task<string> StartWithCallbacksAsync(params (string Path, string Events, Func<int, (int, TimeSpan)>? Respond)[] callbacks)
    {
        var list = new JsonArray([.. callbacks.Select(c => (JsonNode)new JsonObject
        {
            ["url"] = Receiver.Url(c.Path, Secret, c.Respond),
            ["events"] = JsonNode.Parse(c.Events),
            ["secret"] = Secret,
        })]);
        var body = new JsonObject { ["projectId"] = P, ["config"] = new JsonObject { ["callbacks"] = list } };
        return (string)(await StartAsync(body.ToJsonString()))["runId"]!;
    }

    private Task<HttpResponseMessage> ReportAsync(string runId, string json, string eventId) =>
        Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", json, eventId);

    private async Task<JsonArray> CallbacksAsync(string runId) =>
        (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/callbacks")).JsonAsync())["items"]!.AsArray();

    private async Task<JsonObject> SettledDeliveryAsync(string runId, int timeoutSeconds = 30)
    {
        JsonObject? item = null;
        await Eventually.HoldsAsync(async () =>
        {
            item = (await CallbacksAsync(runId)).SingleOrDefault()?.AsObject();
            return (string?)item?["state"] is "delivered" or "deadLettered";
        }, "the callback to be delivered or dead-lettered", timeoutSeconds);
        return item!;
    }

    [Fact]
    public async Task ARunThatCompletesIsCalledBackOnceWithAValidSignatureAndOnlyWhereTheEventIsWanted()
    {
        var done = $"/{P}/done";
        var other = $"/{P}/failed-or-stale";
        var runId = await StartWithCallbacksAsync((done, """["completed"]""", null), (other, """["failed","stale"]""", null));

        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).EnsureSuccessStatusCode();
        var item = await SettledDeliveryAsync(runId);

        // A redelivered final report, and a late cost after the end, raise nothing more.
        Assert.Equal(HttpStatusCode.OK, (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).StatusCode);
        (await ReportAsync(runId, """{"agent":"voice","usage":{"model":"gpt-4o","inputTokens":100}}""", "late")).EnsureSuccessStatusCode();
        await Task.Delay(1500);

        var delivery = Assert.Single(Receiver.For(done));
        Assert.Empty(Receiver.For(other));
        Assert.True(delivery.SignatureValid, "the receiver could not verify the signature");
        Assert.Equal("completed", delivery.Event);
        var body = JsonNode.Parse(delivery.Body)!;
        Assert.Equal(delivery.DeliveryId, (string)body["deliveryId"]!);
        Assert.Equal("completed", (string)body["event"]!);
        Assert.Equal(runId, (string)body["runId"]!);
        Assert.Equal("completed", (string)body["run"]!["status"]!);

        Assert.Equal("delivered", (string)item["state"]!);
        Assert.Equal(1, (int)item["attempts"]!);
        Assert.Equal(delivery.DeliveryId, (string)item["deliveryId"]!);
        Assert.Equal(200, (int)item["history"]![0]!["status"]!);
        Assert.StartsWith("receiver answered 200", (string)item["responseExcerpt"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSecretIsNeverShownInTheRunItsJobOrItsDeliveries()
    {
        var runId = await StartWithCallbacksAsync(($"/{P}/s", """["completed"]""", null));
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).EnsureSuccessStatusCode();
        await SettledDeliveryAsync(runId);

        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).Content.ReadAsStringAsync();
        var deliveries = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/callbacks")).Content.ReadAsStringAsync();
        var job = Assert.Single(await DrainJobsAsync());
        Assert.DoesNotContain(Secret, run, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, deliveries, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, job.ToJsonString(), StringComparison.Ordinal);
        // The run still shows where it reports.
        Assert.Contains(Receiver.BaseUrl, (string)JsonNode.Parse(run)!["configSnapshot"]!["callbacks"]![0]!["url"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedRunIsCalledBackWithTheFailedEvent()
    {
        var path = $"/{P}/failed";
        var runId = await StartWithCallbacksAsync((path, """["completed","failed"]""", null));
        (await ReportAsync(runId, """{"agent":"voice","status":"failed","error":"quota"}""", "boom")).EnsureSuccessStatusCode();
        await SettledDeliveryAsync(runId);

        var delivery = Assert.Single(Receiver.For(path));
        Assert.Equal("failed", delivery.Event);
        Assert.Equal("quota", (string)JsonNode.Parse(delivery.Body)!["run"]!["error"]!);
    }

    [Fact]
    public async Task ACancelledRunIsCalledBackWithTheCancelledEvent()
    {
        var path = $"/{P}/cancelled";
        var runId = await StartWithCallbacksAsync((path, """["cancelled"]""", null));
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/cancel", """{"reason":"operator"}""")).EnsureSuccessStatusCode();
        await SettledDeliveryAsync(runId);

        var delivery = Assert.Single(Receiver.For(path));
        Assert.Equal("cancelled", delivery.Event);
        Assert.Equal("cancelled", (string)JsonNode.Parse(delivery.Body)!["run"]!["status"]!);
    }

    [Fact]
    public async Task ARunTheStaleSweepMarksIsCalledBackWithTheStaleEventOnce()
    {
        var path = $"/{P}/stale";
        var body = new JsonObject
        {
            ["projectId"] = P,
            ["config"] = new JsonObject
            {
                ["pipeline"] = new JsonObject { ["staleAfter"] = "PT1S" },
                ["callbacks"] = new JsonArray(new JsonObject
                {
                    ["url"] = Receiver.Url(path, Secret), ["events"] = new JsonArray("stale"), ["secret"] = Secret,
                }),
            },
        };
        var runId = (string)(await StartAsync(body.ToJsonString()))["runId"]!;
        await Task.Delay(2000);

        await App.Harness.RunFunctionAsync("StaleSweep");
        await App.Harness.RunFunctionAsync("StaleSweep");
        var item = await SettledDeliveryAsync(runId);
        await Task.Delay(1000);

        Assert.Equal("delivered", (string)item["state"]!);
        var delivery = Assert.Single(Receiver.For(path));
        Assert.Equal("stale", delivery.Event);
        Assert.True((bool)JsonNode.Parse(delivery.Body)!["run"]!["stale"]!);
    }

    [Fact]
    public async Task A500IsRetriedWithTheSameDeliveryIdUntilTheReceiverTakesIt()
    {
        var path = $"/{P}/flaky";
        var runId = await StartWithCallbacksAsync((path, """["completed"]""", attempt => (attempt < 3 ? 500 : 200, TimeSpan.Zero)));
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).EnsureSuccessStatusCode();

        var item = await SettledDeliveryAsync(runId);

        Assert.Equal("delivered", (string)item["state"]!);
        Assert.Equal(3, (int)item["attempts"]!);
        Assert.Equal([500, 500, 200], item["history"]!.AsArray().Select(h => (int)h!["status"]!));
        var deliveries = Receiver.For(path);
        Assert.Equal(3, deliveries.Count);
        Assert.Single(deliveries.Select(d => d.DeliveryId).Distinct());
        Assert.All(deliveries, d => Assert.True(d.SignatureValid));
    }

    [Fact]
    public async Task AReceiverThatDoesNotAnswerInTimeIsRetried()
    {
        var path = $"/{P}/slow";
        var runId = await StartWithCallbacksAsync((path, """["completed"]""", attempt => (200, attempt == 1 ? TimeSpan.FromSeconds(5) : TimeSpan.Zero)));
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).EnsureSuccessStatusCode();

        var item = await SettledDeliveryAsync(runId);

        Assert.Equal("delivered", (string)item["state"]!);
        Assert.Equal(2, (int)item["attempts"]!);
        Assert.Contains("timed out", (string)item["history"]![0]!["outcome"]!, StringComparison.Ordinal);
        Assert.Equal(2, Receiver.For(path).Count);
    }

    [Fact]
    public async Task ACallbackThatKeepsFailingIsDeadLetteredAfterTheLastAttempt()
    {
        var path = $"/{P}/down";
        var runId = await StartWithCallbacksAsync((path, """["completed"]""", _ => (503, TimeSpan.Zero)));
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""", "final")).EnsureSuccessStatusCode();

        var item = await SettledDeliveryAsync(runId);
        await Task.Delay(1500);

        Assert.Equal("deadLettered", (string)item["state"]!);
        Assert.Equal(3, (int)item["attempts"]!);
        Assert.Equal(3, Receiver.For(path).Count);
        var letters = (await (await Client.GetAsync("/api/deadletters?limit=100")).JsonAsync())["items"]!.AsArray()
            .Where(l => ((string)l!["originalText"]!).Contains(runId, StringComparison.Ordinal)).ToList();
        var letter = Assert.Single(letters)!;
        Assert.Equal("run-callbacks", (string)letter["source"]!);
        Assert.Contains("3 attempts", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Contains("HTTP 503", (string)letter["reason"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"url":"https://10.0.0.7/hook","events":["completed"],"secret":"0123456789abcdef"}""", "private address")]
    [InlineData("""{"url":"https://169.254.169.254/latest/meta-data","events":["completed"],"secret":"0123456789abcdef"}""", "metadata")]
    [InlineData("""{"url":"https://[::ffff:192.168.1.1]/hook","events":["completed"],"secret":"0123456789abcdef"}""", "private address")]
    [InlineData("""{"url":"https://[fd00:ec2::254]/","events":["completed"],"secret":"0123456789abcdef"}""", "metadata")]
    [InlineData("""{"url":"https://168.63.129.16/machine","events":["completed"],"secret":"0123456789abcdef"}""", "the Azure platform address")]
    [InlineData("""{"url":"https://168.63.129.17/","events":["completed"],"secret":"0123456789abcdef"}""", "an Azure platform address")]
    [InlineData("""{"url":"https://[::ffff:168.63.129.16]/machine","events":["completed"],"secret":"0123456789abcdef"}""", "the Azure platform address")]
    [InlineData("""{"url":"https://[::ffff:0:a9fe:a9fe]/latest/meta-data","events":["completed"],"secret":"0123456789abcdef"}""", "IPv4-translated address embedding 169.254.169.254")]
    [InlineData("""{"url":"https://[::ffff:0:7f00:1]/","events":["completed"],"secret":"0123456789abcdef"}""", "IPv4-translated address embedding 127.0.0.1")]
    [InlineData("""{"url":"https://100.100.100.200/latest/meta-data","events":["completed"],"secret":"0123456789abcdef"}""", "Alibaba Cloud metadata")]
    [InlineData("""{"url":"https://192.0.0.8/","events":["completed"],"secret":"0123456789abcdef"}""", "IETF protocol assignment")]
    [InlineData("""{"url":"https://[64:ff9b:1::a9fe:a9fe]/","events":["completed"],"secret":"0123456789abcdef"}""", "local-use NAT64")]
    [InlineData("""{"url":"https://metadata/computeMetadata/v1/","events":["completed"],"secret":"0123456789abcdef"}""", "single-label name")]
    [InlineData("""{"url":"https://metadata.google.internal/computeMetadata/v1/","events":["completed"],"secret":"0123456789abcdef"}""", "a name under '.internal'")]
    [InlineData("""{"url":"https://169.254.169.254./latest/meta-data","events":["completed"],"secret":"0123456789abcdef"}""", "the cloud metadata address")]
    [InlineData("""{"url":"http://example.com/hook","events":["completed"],"secret":"0123456789abcdef"}""", "must use https")]
    [InlineData("""{"url":"ftp://example.com/hook","events":["completed"],"secret":"0123456789abcdef"}""", "absolute https URL")]
    [InlineData("""{"url":"https://user:pw@example.com/hook","events":["completed"],"secret":"0123456789abcdef"}""", "user name or password")]
    [InlineData("""{"url":"https://example.com/hook","events":["done"],"secret":"0123456789abcdef"}""", "may hold only completed, failed, cancelled, stale, budget")]
    [InlineData("""{"url":"https://example.com/hook","events":[],"secret":"0123456789abcdef"}""", "non-empty list of events")]
    [InlineData("""{"url":"https://example.com/hook","events":["completed","completed"],"secret":"0123456789abcdef"}""", "twice")]
    [InlineData("""{"url":"https://example.com/hook","events":["completed"]}""", "callbacks[0].secret' is required")]
    [InlineData("""{"url":"https://example.com/hook","events":["completed"],"secret":"short"}""", "16 to 256 characters")]
    [InlineData("""{"url":"https://example.com/hook","events":["completed"],"secret":"0123456789abcdef","retries":3}""", "callbacks[0].retries' is not a callback field")]
    public async Task ABadCallbackIs400OnConfigPutAndAtStart(string callback, string detail)
    {
        var put = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/projects/{P}/config")
        {
            Content = new StringContent("""{"callbacks":[""" + callback + "]}", System.Text.Encoding.UTF8, "application/json"),
        });
        Assert.Contains(detail, await put.AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/api/projects/{P}/config")).StatusCode);

        var start = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}","config":{"callbacks":[""" + callback + "]}}");
        Assert.Contains(detail, await start.AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoreThanFiveCallbacksIs400()
    {
        var one = """{"url":"https://example.com/hook","events":["completed"],"secret":"0123456789abcdef"}""";
        var response = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}","config":{"callbacks":[""" + string.Join(',', Enumerable.Repeat(one, 6)) + "]}}");
        Assert.Contains("at most 5", await response.AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallbacksOfAMissingRunAre404()
    {
        var detail = await (await Client.GetAsync($"/api/projects/{P}/runs/RUN_nope/callbacks")).AssertProblemAsync(404);
        Assert.Contains("'RUN_nope'", detail, StringComparison.Ordinal);
    }
}

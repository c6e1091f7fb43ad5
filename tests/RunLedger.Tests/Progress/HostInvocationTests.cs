using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>The Functions host's queue-trigger invocation: POST /AgentProgress with Data and Metadata.</summary>
public sealed class HostInvocationTests : LedgerTest
{
    public HostInvocationTests() => App.With("RunLedger:ListenToQueue", "false");

    private static string Invocation(string message, string id = "\"msg-1\"", string dequeueCount = "\"1\"") => new JsonObject
    {
        ["Data"] = new JsonObject { ["message"] = message },
        ["Metadata"] = new JsonObject
        {
            ["DequeueCount"] = JsonNode.Parse(dequeueCount),
            ["Id"] = JsonNode.Parse(id),
            ["InsertionTime"] = "2026-01-15T18:12:06+00:00",
            ["sys"] = new JsonObject { ["MethodName"] = "AgentProgress" },
        },
    }.ToJsonString();

    [Fact]
    public async Task HostPayloadWithDoubleEncodedMetadataIsAppliedAndAnsweredInTheHostsShape()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var message = $$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice","message":"Generating"}""";

        // Metadata values JSON-encoded twice, as hosts have been seen to send them.
        var response = await Client.PostJsonAsync("/AgentProgress", Invocation(message, id: "\"\\\"msg-1\\\"\"", dequeueCount: "\"1\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("{}", body["Outputs"]!.ToJsonString());
        Assert.Equal("[]", body["Logs"]!.ToJsonString());
        Assert.True(body.ContainsKey("ReturnValue"));
        var events = (await (await Client.GetAsync($"/api/projects/p1/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        var evt = Assert.Single(events)!;
        Assert.Equal("msg-1", (string)evt["eventId"]!);
        Assert.Equal("2026-01-15T18:12:06.000Z", (string)evt["timestamp"]!);
    }

    [Fact]
    public async Task TheSameQueueMessageInvokedTwiceIsAppliedOnce()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var payload = Invocation($$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice"}""", id: "\"stable-id\"");
        (await Client.PostJsonAsync("/AgentProgress", payload)).EnsureSuccessStatusCode();
        (await Client.PostJsonAsync("/AgentProgress", payload.Replace("\"1\"", "\"2\"", StringComparison.Ordinal))).EnsureSuccessStatusCode();
        var events = (await (await Client.GetAsync($"/api/projects/p1/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        Assert.Single(events);
    }

    [Fact]
    public async Task MessageDataAsAJsonObjectOrADoubleEncodedStringIsParsed()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var report = new JsonObject { ["projectId"] = "p1", ["runId"] = runId, ["agent"] = "music" };
        var asObject = new JsonObject { ["Data"] = new JsonObject { ["message"] = report.DeepClone() }, ["Metadata"] = new JsonObject { ["Id"] = "m-obj" } };
        var twice = new JsonObject { ["Data"] = new JsonObject { ["message"] = JsonValue.Create(report.ToJsonString()).ToJsonString() }, ["Metadata"] = new JsonObject { ["Id"] = "m-twice" } };
        (await Client.PostJsonAsync("/AgentProgress", asObject.ToJsonString())).EnsureSuccessStatusCode();
        (await Client.PostJsonAsync("/AgentProgress", twice.ToJsonString())).EnsureSuccessStatusCode();
        var events = (await (await Client.GetAsync($"/api/projects/p1/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        Assert.Equal(["m-obj", "m-twice"], events.Select(e => (string)e!["eventId"]!).Order());
    }

    [Fact]
    public async Task MalformedMessageIsDeadLetteredAndAcknowledgedSoTheHostDoesNotRetry()
    {
        var response = await Client.PostJsonAsync("/AgentProgress", Invocation("""{"projectId":"p1"}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var letters = (await (await Client.GetAsync("/api/deadletters")).JsonAsync())["items"]!.AsArray();
        var letter = Assert.Single(letters)!;
        Assert.Contains("'runId' is required", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Equal("msg-1", (string)letter["messageId"]!);
    }

    [Fact]
    public async Task AReportForAMissingRunFailsTheInvocationSoTheHostRetries()
    {
        var response = await Client.PostJsonAsync("/AgentProgress", Invocation("""{"projectId":"p1","runId":"RUN_absent"}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }
}

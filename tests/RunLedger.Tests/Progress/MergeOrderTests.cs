using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// The merge rule (README, "Order does not matter"): the run ends as if its reports had been applied
/// as deep merges in the order of their clocks, whatever order the queue delivers them in. These
/// shapes broke it before: an object and a plain value (or an empty object) for the same field, a
/// report dated before the completion but delivered after it, and one dated after it but delivered
/// before it.
/// </summary>
public sealed class MergeOrderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private readonly LedgerComponents _app = new();
    private int _runs;

    public Task InitializeAsync()
    {
        _app.ConfigureServices = s => s.AddSingleton<TimeProvider>(new FixedClock(Start));
        return _app.InitializeAsync();
    }

    public Task DisposeAsync() => _app.DisposeAsync();

    /// <summary>Reports, each with its timestamp (seconds after the start).</summary>
    private static readonly (int At, string Json)[] Shapes =
    [
        (10, """{"agent":"voice","message":"voice 1","metadata":{"render":{"voice":{"voiceId":"rachel","takes":{"a":1}}}}}"""),
        (20, """{"agent":"voice","message":"voice 2","metadata":{"render":{"voice":"disabled"}}}"""),
        (30, """{"agent":"music","message":"music 1","metadata":{"render":{"mix":"pending","score":{"bpm":90}}}}"""),
        (40, """{"agent":"music","message":"music 2","metadata":{"render":{"mix":{},"score":{}}},"artifacts":{"musicKey":"audio/m.mp3"}}"""),
        (50, """{"agent":"video","message":"video","metadata":{"render":{"voice":{"takes":{"b":2}},"score":"final"}}}"""),
        (60, """{"agent":"publisher","status":"completed","message":"Published","progress":100,"artifacts":{"videoUrl":"https://cdn.example/v.mp4"}}"""),
        (70, """{"agent":"music","message":"too late","metadata":{"render":{"mix":"late"}},"artifacts":{"lateKey":"x"}}"""),
    ];

    private async Task<JsonObject> RunAsync(IEnumerable<int> order)
    {
        var runId = $"r{Interlocked.Increment(ref _runs)}";
        await _app.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
            $$"""{"projectId":"p1","runId":"{{runId}}"}""")!.AsObject()), null, default);
        foreach (var i in order)
        {
            var body = JsonNode.Parse(Shapes[i].Json)!.AsObject();
            body["projectId"] = "p1";
            body["runId"] = runId;
            var report = ProgressReport.Parse(body, $"{runId}-e{i}", Start.AddSeconds(Shapes[i].At));
            Assert.Equal(ReportOutcome.Applied, (await _app.Get<ProgressHandler>().ApplyAsync(report, default)).Outcome);
        }
        var run = (await _app.Get<RunStore>().GetAsync("p1", runId, default))!.Document;
        foreach (var name in new[] { "runId", "dossierId", "updatedAt" }) run.Remove(name);
        return run;
    }

    /// <summary>Member order aside (JSON objects are unordered).</summary>
    private static string Canonical(JsonNode node) => JsonMerge.ContentHash(node);

    [Fact]
    public async Task InClockOrderTheFieldsAreTheDeepMergesOfTheReportsUpToTheCompletion()
    {
        var run = await RunAsync(Enumerable.Range(0, Shapes.Length));

        Assert.Equal("completed", (string)run["status"]!);
        Assert.Equal("Published", (string)run["message"]!);
        Assert.Equal("publisher", (string)run["step"]!);
        // "disabled" (t20) replaced the object (t10); the video's takes (t50) made it an object again, of what came after.
        Assert.Equal("""{"takes":{"b":2}}""", run["render"]!["voice"]!.ToJsonString());
        // {} (t40) turned "pending" (t30) into an empty object.
        Assert.Equal("{}", run["render"]!["mix"]!.ToJsonString());
        // {} (t40) kept {bpm:90} (t30), then "final" (t50) replaced it.
        Assert.Equal("final", (string)run["render"]!["score"]!);
        Assert.Equal("audio/m.mp3", (string)run["musicKey"]!);
        // The report dated after the completion is history only.
        Assert.Null(run["artifacts"]?["lateKey"]);
        Assert.Equal("Published", (string)run["message"]!);
    }

    [Fact]
    public async Task EveryDeliveryOrderEndsWithTheSameRun()
    {
        var inOrder = await RunAsync(Enumerable.Range(0, Shapes.Length));
        var expected = Canonical(inOrder);
        List<int[]> orders =
        [
            [.. Enumerable.Range(0, Shapes.Length).Reverse()],
            [5, 0, 1, 2, 3, 4, 6],           // completion first: everything dated before it still merges
            [6, 0, 1, 2, 3, 4, 5],           // the late report first: its fields are undone at the completion
            [0, 1, 2, 4, 5, 3, 6],           // music's artifact after the completion (issue 11, 7b)
            [4, 1, 0, 3, 2, 6, 5],           // objects before plain values of the same fields (7a)
        ];
        var random = new Random(11);
        for (var i = 0; i < 12; i++) orders.Add([.. Enumerable.Range(0, Shapes.Length).OrderBy(_ => random.Next())]);

        foreach (var order in orders)
        {
            var run = await RunAsync(order);
            Assert.True(expected == Canonical(run), $"order {string.Join(",", order)} gave {run.ToJsonString()}, in order {inOrder.ToJsonString()}");
        }
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// The merge rule (README, "Order does not matter"): the run ends as if its reports and PATCHes had
/// been applied as deep merges in the order of their clocks (a PATCH's is the time it was applied),
/// over the values it started with, whatever order the queue delivers reports in. These shapes broke
/// it before: an object and a plain value (or an empty object) for the same field, a report dated
/// before the completion but delivered after it, one dated after it but delivered before it (whose
/// undoing dropped PATCHed and start values, issue 18), and times finer than a millisecond.
/// </summary>
public sealed class MergeOrderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private readonly LedgerComponents _app = new();
    private readonly FixedClock _clock = new(Start);
    private int _runs;

    public Task InitializeAsync()
    {
        _app.Clock = _clock;
        return _app.InitializeAsync();
    }

    public Task DisposeAsync() => _app.DisposeAsync();

    /// <summary>
    /// Reports, each with its timestamp (seconds after the start), then PATCHes, each with the time it
    /// is applied (a PATCH is applied when it is sent; only reports wait in a queue).
    /// </summary>
    private static readonly (int At, string Json)[] Shapes =
    [
        (10, """{"agent":"voice","message":"voice 1","metadata":{"render":{"voice":{"voiceId":"rachel","takes":{"a":1}}}}}"""),
        (20, """{"agent":"voice","message":"voice 2","metadata":{"render":{"voice":"disabled"}}}"""),
        (30, """{"agent":"music","message":"music 1","metadata":{"render":{"mix":"pending","score":{"bpm":90}}}}"""),
        (40, """{"agent":"music","message":"music 2","metadata":{"render":{"mix":{},"score":{}}},"artifacts":{"musicKey":"audio/m.mp3"}}"""),
        (50, """{"agent":"video","message":"video","metadata":{"render":{"voice":{"takes":{"b":2}},"score":"final"}}}"""),
        (60, """{"agent":"publisher","status":"completed","message":"Published","progress":100,"artifacts":{"videoUrl":"https://cdn.example/v.mp4"}}"""),
        (70, """{"agent":"music","message":"too late","metadata":{"render":{"mix":"late"},"voice":{"voiceId":"x"}},"artifacts":{"lateKey":"x"}}"""),
        (25, """{"voice":{"store":"s3"},"render":{"voice":{"store":"s3"}},"message":"patched"}"""),
        (55, """{"render":{"score":null},"artifacts":{"patchedKey":"p"},"progress":90}"""),
    ];

    private const int Completion = 5;
    private static readonly int[] Patches = [7, 8];
    private static readonly int[] InClockOrder = [.. Enumerable.Range(0, Shapes.Length).OrderBy(i => Shapes[i].At)];

    private async Task<string> StartRunAsync(string prefix = "r")
    {
        var runId = $"{prefix}{Interlocked.Increment(ref _runs)}";
        _clock.Now = Start;
        await _app.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
            $$"""{"projectId":"p1","runId":"{{runId}}"}""")!.AsObject()), null, default);
        return runId;
    }

    private async Task ReportAsync(string runId, string json, string eventId, DateTimeOffset receivedAt)
    {
        var body = JsonNode.Parse(json)!.AsObject();
        body["projectId"] = "p1";
        body["runId"] = runId;
        var report = ProgressReport.Parse(body, eventId, receivedAt);
        Assert.Equal(ReportOutcome.Applied, (await _app.Get<ProgressHandler>().ApplyAsync(report, default)).Outcome);
    }

    private async Task PatchAsync(string runId, string json, DateTimeOffset at)
    {
        _clock.Now = at;
        await _app.Get<RunPatcher>().PatchAsync("p1", runId, RunRules.ValidatePatch(JsonNode.Parse(json)!.AsObject()), null, default);
    }

    private async Task<JsonObject> DocumentAsync(string runId)
    {
        var run = (await _app.Get<RunStore>().GetAsync("p1", runId, default))!.Document;
        foreach (var name in new[] { "runId", "dossierId", "updatedAt" }) run.Remove(name);
        return run;
    }

    private async Task<JsonObject> RunAsync(IEnumerable<int> order)
    {
        var runId = await StartRunAsync();
        foreach (var i in order)
        {
            if (Patches.Contains(i)) await PatchAsync(runId, Shapes[i].Json, Start.AddSeconds(Shapes[i].At));
            else await ReportAsync(runId, Shapes[i].Json, $"{runId}-e{i}", Start.AddSeconds(Shapes[i].At));
        }
        return await DocumentAsync(runId);
    }

    /// <summary>A PATCH is refused once the run is final: one the order puts after the completion comes just before it.</summary>
    private static int[] PatchesBeforeCompletion(int[] order)
    {
        var list = order.ToList();
        foreach (var patch in Patches)
        {
            if (list.IndexOf(patch) < list.IndexOf(Completion)) continue;
            list.Remove(patch);
            list.Insert(list.IndexOf(Completion), patch);
        }
        return [.. list];
    }

    /// <summary>Member order aside (JSON objects are unordered).</summary>
    private static string Canonical(JsonNode node) => JsonMerge.ContentHash(node);

    [Fact]
    public async Task InClockOrderTheFieldsAreTheDeepMergesOfTheReportsAndPatchesUpToTheCompletion()
    {
        var run = await RunAsync(InClockOrder);

        Assert.Equal("completed", (string)run["status"]!);
        Assert.Equal("Published", (string)run["message"]!);
        Assert.Equal("publisher", (string)run["step"]!);
        Assert.Equal(100, (int)run["progress"]!); // the completion (t60) after the PATCH's 90 (t55)
        // "disabled" (t20) replaced the object (t10); the PATCH's store (t25) and the video's takes (t50)
        // made it an object again, of what came after.
        Assert.Equal("""{"store":"s3","takes":{"b":2}}""", run["render"]!["voice"]!.ToJsonString());
        // {} (t40) turned "pending" (t30) into an empty object.
        Assert.Equal("{}", run["render"]!["mix"]!.ToJsonString());
        // {} (t40) kept {bpm:90} (t30), "final" (t50) replaced it, and the PATCH's null (t55) removed it.
        Assert.False(run["render"]!.AsObject().ContainsKey("score"));
        Assert.Equal("audio/m.mp3", (string)run["musicKey"]!);
        Assert.Equal("p", (string)run["artifacts"]!["patchedKey"]!);
        // The report dated after the completion is history only; what the PATCH set there stays.
        Assert.Null(run["artifacts"]?["lateKey"]);
        Assert.Equal("""{"store":"s3"}""", run["voice"]!.ToJsonString());
    }

    [Theory]
    [InlineData("late report first")]
    [InlineData("completion first")]
    public async Task APatchedFieldSurvivesAReportDatedAfterTheCompletionInEitherDeliveryOrder(string order)
    {
        // Issue 18, 3: start; PATCH voice.store; report a (voice, +120 s, voice.voiceId); report b
        // (publisher, completed, +60 s). Delivered a then b, voice ended null; b then a kept the PATCH.
        var runId = await StartRunAsync("v");
        await PatchAsync(runId, """{"voice":{"store":"s3"}}""", Start);
        var a = ("""{"agent":"voice","message":"Narrating","metadata":{"voice":{"voiceId":"x"}}}""", "a", Start.AddSeconds(120));
        var b = ("""{"agent":"publisher","status":"completed"}""", "b", Start.AddSeconds(60));
        foreach (var (json, eventId, at) in order == "late report first" ? new[] { a, b } : [b, a])
        {
            await ReportAsync(runId, json, eventId, at);
        }

        var run = await DocumentAsync(runId);
        Assert.Equal("""{"store":"s3"}""", run["voice"]!.ToJsonString());
        // The start's values of fields the late report wrote come back too.
        Assert.Equal("Pipeline queued", (string?)run["message"]);
        Assert.Equal(0, (int)run["progress"]!);
        Assert.Equal("publisher", (string?)run["step"]);
    }

    [Fact]
    public async Task APatchAppliedBeforeTheCompletionArrivedIsKeptThoughItIsDatedAfterIt()
    {
        // The completion (t60) waits in the queue; a PATCH at t65 and a late report (t70) come first.
        var runs = new List<JsonObject>();
        foreach (var lateFirst in new[] { true, false })
        {
            var runId = await StartRunAsync("k");
            if (lateFirst) await ReportAsync(runId, """{"agent":"music","message":"too late","metadata":{"voice":{"voiceId":"late"}}}""", "late", Start.AddSeconds(70));
            await PatchAsync(runId, """{"message":"fixed by hand","voice":{"store":"s3"}}""", Start.AddSeconds(65));
            if (!lateFirst) await ReportAsync(runId, """{"agent":"music","message":"too late","metadata":{"voice":{"voiceId":"late"}}}""", "late", Start.AddSeconds(70));
            await ReportAsync(runId, """{"agent":"publisher","status":"completed","message":"Published"}""", "done", Start.AddSeconds(60));
            runs.Add(await DocumentAsync(runId));
        }

        foreach (var run in runs)
        {
            Assert.Equal("completed", (string)run["status"]!);
            Assert.Equal("fixed by hand", (string)run["message"]!); // the PATCH (t65) is newer than the completion (t60)
            Assert.Equal("""{"store":"s3"}""", run["voice"]!.ToJsonString());
        }
        Assert.Equal(Canonical(runs[0]), Canonical(runs[1]));
    }

    [Fact]
    public async Task ReportsWithinOneMillisecondSortTheSameWhenTheyArriveAndWhenTheHistoryIsReplayed()
    {
        // History keeps times to the millisecond: the completion (…10.0005) and x (…10.0007) share one,
        // where the completion counts last, so x counts whether it arrives before the completion (then
        // the completion rebuilds the fields from history) or after it.
        var x = ("""{"agent":"voice","message":"x","timestamp":"2026-03-02T09:00:10.0007Z"}""", "x");
        var done = ("""{"agent":"publisher","status":"completed","timestamp":"2026-03-02T09:00:10.0005Z"}""", "done");
        var late = ("""{"agent":"music","message":"late","timestamp":"2026-03-02T09:00:20Z"}""", "late");
        var runs = new List<JsonObject>();
        foreach (var order in new[] { new[] { x, done, late }, [done, x, late], [late, x, done], [late, done, x] })
        {
            var runId = await StartRunAsync("ms");
            foreach (var (json, eventId) in order) await ReportAsync(runId, json, eventId, Start.AddSeconds(30));
            runs.Add(await DocumentAsync(runId));
        }

        Assert.All(runs, run => Assert.Equal("x", (string?)run["message"]));
        Assert.All(runs, run => Assert.Equal(Canonical(runs[0]), Canonical(run)));
    }

    [Theory]
    [InlineData("zzz", "aaa")]
    [InlineData("aaa", "zzz")]
    public async Task AtTheSameTimestampTheReportThatEndsTheRunCountsAsTheLast(string voiceEventId, string publisherEventId)
    {
        // Agent clocks (or the queue's insertion time) often have whole seconds, and event ids are random.
        foreach (var order in new[] { (First: 0, Second: 1), (First: 1, Second: 0) })
        {
            var runId = await StartRunAsync("t");
            var reports = new[]
            {
                ($$$"""{"projectId":"p1","runId":"{{{runId}}}","agent":"voice","status":"completed","message":"Narration done","artifacts":{"narrationKey":"audio/n.mp3"}}""", voiceEventId),
                ($$$"""{"projectId":"p1","runId":"{{{runId}}}","agent":"publisher","status":"completed","message":"Published"}""", publisherEventId),
            };
            foreach (var i in new[] { order.First, order.Second })
            {
                var report = ProgressReport.Parse(JsonNode.Parse(reports[i].Item1)!.AsObject(), reports[i].Item2, Start.AddSeconds(30));
                await _app.Get<ProgressHandler>().ApplyAsync(report, default);
            }
            var run = (await _app.Get<RunStore>().GetAsync("p1", runId, default))!.Document;
            Assert.Equal("completed", (string)run["status"]!);
            Assert.Equal("audio/n.mp3", (string?)run["narrationKey"]);
            Assert.Equal("Published", (string)run["message"]!);
            Assert.Equal("publisher", (string)run["step"]!);
        }
    }

    [Fact]
    public async Task EveryDeliveryOrderEndsWithTheSameRun()
    {
        var inOrder = await RunAsync(InClockOrder);
        var expected = Canonical(inOrder);
        List<int[]> orders =
        [
            [.. Enumerable.Range(0, Shapes.Length).Reverse()],
            [7, 8, 5, 0, 1, 2, 3, 4, 6],     // completion first: everything dated before it still merges
            [6, 7, 0, 1, 2, 3, 8, 4, 5],     // the late report first: its fields are undone at the completion, PATCHes kept
            [7, 8, 6, 5, 0, 1, 2, 3, 4],     // issue 18, 3: PATCH, the late report, then the completion
            [0, 1, 2, 4, 7, 8, 5, 3, 6],     // music's artifact after the completion (issue 11, 7b)
            [4, 1, 0, 3, 2, 6, 8, 7, 5],     // objects before plain values of the same fields (7a), PATCHes out of order
            [7, 0, 1, 2, 3, 4, 6, 8, 5],     // a PATCH between the late report and the completion
        ];
        var random = new Random(11);
        for (var i = 0; i < 12; i++) orders.Add(PatchesBeforeCompletion([.. Enumerable.Range(0, Shapes.Length).OrderBy(_ => random.Next())]));

        foreach (var order in orders)
        {
            var run = await RunAsync(order);
            Assert.True(expected == Canonical(run), $"order {string.Join(",", order)} gave {run.ToJsonString()}, in order {inOrder.ToJsonString()}");
        }
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// The queue delivers at least once and in any order. Whatever it does, the run and its history
/// must end exactly as after a clean, in-order, once-only delivery.
/// </summary>
public sealed class DeliveryEquivalenceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 18, 12, 6, TimeSpan.Zero);
    private LedgerComponents CleanApp { get; } = new();
    private LedgerComponents MessyApp { get; } = new();

    public async Task InitializeAsync()
    {
        foreach (var app in new[] { CleanApp, MessyApp })
        {
            app.Clock = new FixedClock(Start);
            await app.InitializeAsync();
            await app.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
                """{"projectId":"p1","runId":"r1","dossierId":"DOSS_20260115_4523","seedData":{"topic":"volcanoes"}}""")!.AsObject()), null, default);
        }
    }

    public async Task DisposeAsync()
    {
        await CleanApp.DisposeAsync();
        await MessyApp.DisposeAsync();
    }

    /// <summary>A realistic pipeline: voice, music, video, publisher, with overlapping fields.</summary>
    private static List<ProgressReport> Pipeline()
    {
        var reports = new List<string>
        {
            """{"agent":"voice","status":"running","message":"Generating narration...","progress":10}""",
            """{"agent":"voice","status":"running","message":"Narration 60%","progress":60,"metadata":{"voice":{"voiceId":"rachel","characters":1000}}}""",
            """{"agent":"voice","status":"completed","message":"Narration done","progress":100,"metadata":{"voice":{"characters":1500,"costCents":45}},"artifacts":{"narrationKey":"audio/n.mp3"},"usage":{"model":"eleven_multilingual_v2","characters":1500}}""",
            """{"agent":"music","status":"running","message":"Composing","progress":20,"metadata":{"music":{"mode":"suno","bpm":96}}}""",
            """{"agent":"music","status":"completed","message":"Music ready","progress":100,"metadata":{"music":{"bpm":100,"duration":62.5}},"artifacts":{"musicKey":"audio/m.mp3","beatGridKey":"grid.json"}}""",
            """{"agent":"video","status":"running","message":"Rendering","progress":50,"usage":{"model":"gpt-4o","inputTokens":1200,"outputTokens":350}}""",
            """{"agent":"video","status":"completed","message":"Rendered","progress":100,"artifacts":{"finalVideoKey":"video/final.mp4"}}""",
            """{"agent":"publisher","status":"completed","message":"Published","progress":100,"artifacts":{"videoUrl":"https://cdn.example/v.mp4","creditsUrl":"https://cdn.example/c.txt"}}""",
        };
        return reports.Select((json, i) => ProgressReport.Parse(
            JsonNode.Parse(json)!.AsObject().Also(o => { o["projectId"] = "p1"; o["runId"] = "r1"; }),
            defaultEventId: $"msg-{i}",
            defaultTimestamp: Start.AddSeconds(10 * (i + 1)))).ToList();
    }

    private static async Task<(string Run, List<JsonObject> Events)> FinalStateAsync(LedgerComponents app)
    {
        var run = (await app.Get<RunStore>().GetAsync("p1", "r1", default))!.Document.ToJsonString();
        var events = await LedgerComponents.BodyAsync(app.Functions<ProgressFunctions>().GetRunEvents(LedgerComponents.Request("?limit=1000"), "p1", "r1", default));
        return (run, events["items"]!.AsArray().Select(e => e!.AsObject()).ToList());
    }

    private static string Canonical(string json)
    {
        var run = JsonNode.Parse(json)!.AsObject();
        run.Remove("updatedAt"); // the time of the last delivery, whichever it was
        return RunLedger.Ledger.JsonMerge.ContentHash(run);
    }

    private static List<string> WithoutSequence(List<JsonObject> events) =>
        events.Select(e => { var c = e.DeepClone().AsObject(); c.Remove("seq"); return c.ToJsonString(); })
              .Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task DuplicatedRedeliveredAndReorderedReportsEndExactlyLikeACleanDelivery(int seed)
    {
        var clean = CleanApp.Get<ProgressHandler>();
        foreach (var report in Pipeline()) await clean.ApplyAsync(report, default);

        // Every report one to three times, in a shuffled order (the completion anywhere among them),
        // some of them concurrently.
        var random = new Random(seed);
        var reports = Pipeline();
        var deliveries = reports.SelectMany(r => Enumerable.Repeat(r, random.Next(1, 4))).OrderBy(_ => random.Next()).ToList();
        var messy = MessyApp.Get<ProgressHandler>();
        foreach (var chunk in deliveries.Chunk(3))
        {
            await Task.WhenAll(chunk.Select(r => messy.ApplyAsync(r, default)));
        }

        var (cleanRun, cleanEvents) = await FinalStateAsync(CleanApp);
        var (messyRun, messyEvents) = await FinalStateAsync(MessyApp);
        Assert.Equal(Canonical(cleanRun), Canonical(messyRun)); // JSON objects are unordered
        Assert.Equal(reports.Count, messyEvents.Count);
        Assert.Equal(Enumerable.Range(1, reports.Count), messyEvents.Select(e => (int)e["seq"]!));
        Assert.Equal(WithoutSequence(cleanEvents), WithoutSequence(messyEvents));
        Assert.Equal("completed", (string)JsonNode.Parse(messyRun)!["status"]!);
        Assert.Equal(1500, (int)JsonNode.Parse(messyRun)!["voice"]!["characters"]!);
    }

    [Fact]
    public async Task RedeliveryWithoutReorderingLeavesIdenticalHistoryIncludingSequenceNumbers()
    {
        var clean = CleanApp.Get<ProgressHandler>();
        var messy = MessyApp.Get<ProgressHandler>();
        foreach (var report in Pipeline())
        {
            await clean.ApplyAsync(report, default);
            await messy.ApplyAsync(report, default);
            await messy.ApplyAsync(report, default);
        }
        var (cleanRun, cleanEvents) = await FinalStateAsync(CleanApp);
        var (messyRun, messyEvents) = await FinalStateAsync(MessyApp);
        Assert.Equal(cleanRun, messyRun);
        Assert.Equal(cleanEvents.Select(e => e.ToJsonString()), messyEvents.Select(e => e.ToJsonString()));
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject obj, Action<JsonObject> change)
    {
        change(obj);
        return obj;
    }
}

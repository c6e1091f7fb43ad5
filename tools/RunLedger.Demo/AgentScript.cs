using System.Text.Json.Nodes;

namespace RunLedger.Demo;

/// <summary>
/// One agent report. <see cref="At"/> is when the agent made it (its timestamp), in seconds after
/// the run was started: a real pipeline takes minutes, the demo a few seconds, and a timestamp is
/// never later than the moment the report is sent. The script lists reports in the order they
/// reach the queue, which is not always the order they were made in.
/// </summary>
public sealed record AgentReport(
    string Name, double At, string Agent, string Status, int Progress, string Message,
    JsonObject? Usage = null, JsonObject? Artifacts = null, JsonObject? Metadata = null);

/// <summary>A report as sent: <see cref="Note"/> says why this send is unusual, if it is.</summary>
public sealed record Send(AgentReport Report, string? Note = null);

/// <summary>The voice → music → video → publisher pipeline, as its agents would report it.</summary>
public static class AgentScript
{
    public static IReadOnlyList<Send> For(string projectId, string runId)
    {
        var files = $"{projectId}/{runId}";

        var voiceStart = new AgentReport("voice-start", 0.2, "voice", "running", 10, "Generating narration (tts-1-hd)...",
            Metadata: Voice(characters: null));
        var voiceHalf = new AgentReport("voice-half", 0.6, "voice", "running", 60, "Narration 60% synthesized");
        var voiceDone = new AgentReport("voice-done", 1.0, "voice", "completed", 100, "Narration ready",
            Usage: new() { ["model"] = "tts-1-hd", ["characters"] = 1500 },
            Artifacts: new() { ["narrationKey"] = $"{files}/narration.mp3" },
            Metadata: Voice(characters: 1500));

        var musicStart = new AgentReport("music-start", 1.2, "music", "running", 10, "Prompting Suno for a soundtrack...",
            Metadata: new() { ["music"] = new JsonObject { ["mode"] = "generate", ["licenseTier"] = "standard" } });
        var music40 = new AgentReport("music-40", 1.6, "music", "running", 40, "Composing soundtrack...");
        var music80 = new AgentReport("music-80", 2.0, "music", "running", 80, "Building the beat grid...");
        var musicDone = new AgentReport("music-done", 2.4, "music", "completed", 100, "Soundtrack ready",
            Usage: new() { ["model"] = "suno-v4", ["requests"] = 1 },
            Artifacts: new() { ["musicKey"] = $"{files}/music.mp3", ["beatGridKey"] = $"{files}/beat-grid.json" },
            Metadata: new()
            {
                ["music"] = new JsonObject { ["mode"] = "generate", ["bpm"] = 96, ["duration"] = 62.5, ["licenseTier"] = "standard" },
            });

        var videoScript = new AgentReport("video-script", 2.8, "video", "running", 30, "Writing the shot list with GPT-4o...",
            Usage: new() { ["model"] = "gpt-4o", ["inputTokens"] = 12000, ["outputTokens"] = 3500 });
        var videoRender = new AgentReport("video-render", 3.2, "video", "running", 70, "Rendering clips with Runway Gen-3...",
            Usage: new() { ["model"] = "runway-gen3", ["seconds"] = 10 });
        var videoDone = new AgentReport("video-done", 3.6, "video", "completed", 100, "Final cut rendered",
            Artifacts: new() { ["finalVideoKey"] = $"{files}/final.mp4" });

        var publishStart = new AgentReport("publish-start", 4.0, "publisher", "running", 50, "Uploading to YouTube...");
        var publishDone = new AgentReport("publish-done", 4.4, "publisher", "completed", 100, "Published",
            Artifacts: new()
            {
                ["videoUrl"] = "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                ["creditsUrl"] = $"https://example.com/credits/{runId}",
            });

        // Queues deliver at least once and in no promised order; the ledger must shrug both off.
        return
        [
            new(voiceStart),
            new(voiceStart, "redelivery"),
            new(voiceHalf),
            new(musicStart),
            new(voiceDone, "late: voice finished before music started"),
            new(music80),
            new(music40, "late: older than 80%, must not move progress back"),
            new(musicDone),
            new(musicDone, "redelivery"),
            new(videoScript),
            new(videoRender),
            new(videoRender, "redelivery"),
            new(videoDone),
            new(publishStart),
            new(publishDone), // the final agent completing completes the run, so it goes last
        ];
    }

    private static JsonObject Voice(int? characters)
    {
        var voice = new JsonObject { ["voiceId"] = "nova", ["modelId"] = "tts-1-hd" };
        if (characters is { } n) voice["characters"] = n;
        return new JsonObject { ["voice"] = voice };
    }
}

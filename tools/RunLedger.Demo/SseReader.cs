using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;

namespace RunLedger.Demo;

/// <summary>One Server-Sent Event: <c>id:</c>, <c>event:</c> (default <c>message</c>) and its joined <c>data:</c> lines.</summary>
public sealed record SseEvent(string? Id, string Type, string Data);

/// <summary>
/// A small EventSource: reads a text/event-stream as it arrives and, when the server ends a
/// response without an <c>end</c> event (it bounds each response, then sends <c>retry:</c>),
/// waits that long and resumes with Last-Event-ID, so every event is seen exactly once.
/// It stops on <c>event: end</c> or on 204, which is how the server says there is nothing more.
/// </summary>
public sealed class SseReader(HttpClient http)
{
    public async IAsyncEnumerable<SseEvent> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? lastEventId = null;
        var retry = TimeSpan.FromSeconds(2);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);

            // ResponseHeadersRead: hand the body over as it streams instead of buffering all of it.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NoContent) yield break;
            response.EnsureSuccessStatusCode();

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            string? id = null, type = null;
            var data = new List<string>();
            while (await ReadLineAsync(reader, cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    // A blank line dispatches the event; a frame with no data (e.g. only `retry:`) is not an event.
                    if (data.Count > 0)
                    {
                        var evt = new SseEvent(id ?? lastEventId, type ?? "message", string.Join('\n', data));
                        lastEventId = evt.Id;
                        yield return evt;
                        if (evt.Type == "end") yield break;
                    }
                    id = type = null;
                    data.Clear();
                    continue;
                }
                if (line[0] == ':') continue; // comment, e.g. the server's heartbeat

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var field = colon < 0 ? line : line[..colon];
                var value = colon < 0 ? "" : line[(colon + 1)..];
                if (value.StartsWith(' ')) value = value[1..];
                switch (field)
                {
                    case "id": id = value; break;
                    case "event": type = value; break;
                    case "data": data.Add(value); break;
                    case "retry" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms):
                        retry = TimeSpan.FromMilliseconds(ms);
                        break;
                }
            }

            // The response ended without `end`: routine after a bounded response, or a dropped
            // connection. Either way resume; if the app has stopped, the reconnect fails loudly.
            await Task.Delay(retry, cancellationToken);
        }
    }

    /// <summary>A connection reset mid-stream reads as the end of the stream, so the caller resumes.</summary>
    private static async Task<string?> ReadLineAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadLineAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return null;
        }
    }
}

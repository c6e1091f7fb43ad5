using System.Net.Http.Headers;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// A live stream's client that goes away, through the local host and the real worker: the request
/// is cancelled, the stream leaves its run's shared poller, and the last one to leave stops it.
/// </summary>
public sealed class StreamDisconnectTests(StreamDisconnectTests.Host host) : LedgerTest(host), IClassFixture<StreamDisconnectTests.Host>
{
    /// <summary>Streams that neither end nor write a heartbeat while a test runs: only a disconnect ends them.</summary>
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [new("RunLedger__StreamMaxDuration", "00:10:00"), new("RunLedger__StreamHeartbeat", "00:10:00")];
    }

    /// <summary>Opens a stream and reads until its first line (the response has started).</summary>
    private async Task<(HttpResponseMessage Response, StreamReader Body)> OpenAsync(string runId, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var body = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        Assert.Equal("retry: 2000", await body.ReadLineAsync(cancellationToken));
        return (response, body);
    }

    [Fact]
    public async Task ClientsThatDisconnectLeaveNoPollerBehind()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var (firstResponse, firstBody) = await OpenAsync(runId, first.Token);
        var (secondResponse, secondBody) = await OpenAsync(runId, second.Token);
        await App.Harness.WaitForLogAsync($"run {runId} in project {P}: poller started");

        // One of two clients goes away: the other still watches, so the poller stays.
        await first.CancelAsync();
        firstBody.Dispose();
        firstResponse.Dispose();
        // The other goes away too: the run's poller stops (no heartbeat or deadline could end it here).
        await second.CancelAsync();
        secondBody.Dispose();
        secondResponse.Dispose();
        await App.Harness.WaitForLogAsync($"run {runId} in project {P}: poller stopped", TimeSpan.FromSeconds(60));
        Assert.Single(App.Harness.Logs, l => l.Message.Contains($"run {runId} in project {P}: poller started", StringComparison.Ordinal));
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Azure.Storage.Queues;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// Agents as they behave in production: they put reports on the queue (straight to storage, not
/// through the app) or POST them, and retry an HTTP send that failed for a reason a retry can fix
/// (5xx, 429, no answer), waiting as <c>Retry-After</c> says (capped, to keep tests short).
/// Every answer is counted; an answer no retry can fix (4xx) is recorded as a failure.
/// </summary>
public sealed class Agents(HttpClient client, QueueClient progressQueue)
{
    private static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(3);
    private readonly ConcurrentDictionary<string, int> _answers = new(StringComparer.Ordinal);
    private int _done;

    /// <summary>Deliveries finished so far.</summary>
    public int Done => Volatile.Read(ref _done);

    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Answers 5xx other than 503 (retried, but worth a look): what was sent and what came back.</summary>
    public ConcurrentQueue<string> ServerErrors { get; } = new();

    /// <summary>HTTP answers (and "no answer") by status, first tries and retries alike.</summary>
    public IReadOnlyDictionary<string, int> Answers => new SortedDictionary<string, int>(_answers, StringComparer.Ordinal);

    public int QueueSends { get; private set; }

    public int HttpSends { get; private set; }

    /// <summary>Sends every delivery, <paramref name="concurrency"/> at a time, in the given order.</summary>
    public async Task DeliverAsync(string projectId, IReadOnlyList<RedeliveryWorkload.Delivery> deliveries, int concurrency)
    {
        QueueSends += deliveries.Count(d => d.ViaQueue);
        HttpSends += deliveries.Count(d => !d.ViaQueue);
        await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (delivery, cancellationToken) =>
        {
            var body = delivery.Report.Body(projectId);
            if (delivery.ViaQueue)
            {
                await progressQueue.SendMessageAsync(body.ToJsonString(), cancellationToken);
            }
            else
            {
                await SendAsync(HttpMethod.Post, $"/api/projects/{projectId}/runs/{delivery.Report.RunId}/progress", body.ToJsonString(), [200, 202]);
            }
            Interlocked.Increment(ref _done);
        });
    }

    /// <summary>Starts each run (a given run id makes a retried start return the same run).</summary>
    public Task StartRunsAsync(string projectId, IEnumerable<string> runIds) =>
        Parallel.ForEachAsync(runIds, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (runId, _) =>
            await SendAsync(HttpMethod.Post, "/api/pipelines", $$$"""{"projectId":"{{{projectId}}}","runId":"{{{runId}}}","seedData":{"topic":"reliability"}}""", [202]));

    /// <summary>Sends until the answer is one of <paramref name="success"/>; retries what a retry can fix.</summary>
    /// <returns>The successful answer's body, or null when none came.</returns>
    public async Task<string?> SendAsync(HttpMethod method, string url, string json, int[] success, string? idempotencyKey = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            TimeSpan wait;
            try
            {
                using var request = new HttpRequestMessage(method, url) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
                if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
                using var response = await client.SendAsync(request);
                var status = (int)response.StatusCode;
                Count(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (success.Contains(status)) return await response.Content.ReadAsStringAsync();
                if (status >= 500 && status != 503)
                {
                    ServerErrors.Enqueue($"{method} {url} answered {status}: {await response.Content.ReadAsStringAsync()}");
                }
                if (status < 500 && status != 429)
                {
                    Failures.Enqueue($"{method} {url} answered {status}: {await response.Content.ReadAsStringAsync()}");
                    return null;
                }
                wait = response.Headers.RetryAfter?.Delta is { } delta && delta < MaxRetryWait ? delta : MaxRetryWait;
                if (status == 503 && response.Headers.RetryAfter is null) Count("503 without Retry-After");
            }
            catch (HttpRequestException)
            {
                Count("no answer");
                wait = TimeSpan.FromMilliseconds(250);
            }
            if (clock.Elapsed > GiveUpAfter)
            {
                Failures.Enqueue($"{method} {url} still failing after {GiveUpAfter}");
                return null;
            }
            await Task.Delay(wait);
        }
    }

    private void Count(string what) => _answers.AddOrUpdate(what, 1, (_, n) => n + 1);

    /// <summary>Waits until every run has all its reports in its history (polling the app).</summary>
    public static async Task AppliedAsync(HttpClient client, string projectId, IEnumerable<RedeliveryWorkload.Report> reports, TimeSpan timeout)
    {
        var expected = reports.GroupBy(r => r.RunId).ToDictionary(g => g.Key, g => g.Count());
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var (runId, count) in expected)
            {
                try
                {
                    using var response = await client.GetAsync($"/api/projects/{projectId}/runs/{runId}/events?limit=1000");
                    if (response.StatusCode != HttpStatusCode.OK) return false;
                    if ((await response.JsonAsync())["items"]!.AsArray().Count < count) return false;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }
            return true;
        }, "every report to be applied", (int)timeout.TotalSeconds);
    }
}

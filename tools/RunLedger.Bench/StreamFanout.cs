using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionsHost;
using FunctionsHost.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RunLedger.Progress;
using Yarp.ReverseProxy.Forwarder;

namespace RunLedger.Bench;

/// <summary>
/// Live streams of one run through the local Functions host and the real worker, 1, 20 and 200 at
/// once: the table requests the worker makes for them, counted by a proxy the worker reaches
/// storage through, while the run is idle and while reports arrive (applied by this process, as by
/// another instance, so the worker learns of them only by polling); and whether every stream
/// received every event once, in order, and the end.
/// </summary>
public static partial class StreamFanout
{
    public sealed record Result(int Streams, double JoinRequestsPerStream, double IdleRunReads, double IdleEventQueries,
        double ActiveRunReads, double ActiveEventQueries, double ActiveSeconds, int Events, int StreamsComplete, string? Problem);

    public static async Task<List<Result>> RunAsync(string connectionString, string appDirectory, string hostJson,
        IReadOnlyList<int> sizes, int reports, TimeSpan idle)
    {
        await using var bench = await BenchLedger.CreateAsync(connectionString, "benchs");
        var table = TableEndpoint().Match(connectionString).Groups[1].Value;
        await using var proxy = await CountingProxy.StartAsync(new Uri(table));
        var settings = bench.AppSettings;
        settings["AzureWebJobsStorage"] = TableEndpoint().Replace(connectionString, $"TableEndpoint={proxy.Address}devstoreaccount1;");
        // One response per stream for the whole scenario: no reconnects, no heartbeats to speak of.
        settings["RunLedger__StreamMaxDuration"] = "00:10:00";

        await using var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = appDirectory,
            HostJsonPath = hostJson,
            Settings = settings,
        });
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1000 })
        {
            BaseAddress = harness.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var handler = bench.Get<ProgressHandler>();
        async Task ApplyAsync(string runId, string eventId, string fields)
        {
            var report = ProgressReport.Parse(JsonNode.Parse($$"""{"projectId":"bench","runId":"{{runId}}"{{fields}}}""")!.AsObject(), eventId, DateTimeOffset.UtcNow);
            await handler.ApplyAsync(report, default);
        }

        // Warm the worker (JIT, connections) with one stream of a run of its own.
        await bench.StartRunAsync("bench", "RUN_WARM");
        await ApplyAsync("RUN_WARM", "w1", ""","agent":"publisher","status":"completed" """);
        using (var warm = await client.SendAsync(Request("RUN_WARM"), HttpCompletionOption.ResponseHeadersRead)) await warm.Content.ReadAsStringAsync();

        var results = new List<Result>();
        foreach (var n in sizes)
        {
            var runId = FormattableString.Invariant($"RUN_S{n}");
            await bench.StartRunAsync("bench", runId);
            await ApplyAsync(runId, "e0", ""","agent":"voice","status":"running" """);

            proxy.Reset();
            var streams = Enumerable.Range(0, n).Select(_ => new Stream()).ToList();
            var reading = streams.Select(s => s.FollowAsync(client, runId)).ToList();
            await Task.WhenAll(streams.Select(s => s.HasFirstEvent)).WaitAsync(TimeSpan.FromMinutes(2));
            var join = proxy.Total / (double)n;

            // Idle: nothing happens to the run.
            proxy.Reset();
            await Task.Delay(idle);
            var (idleRun, idleEvents, _) = proxy.Counts;

            // Active: reports at about ten a second, then the one that ends the run.
            proxy.Reset();
            var start = Stopwatch.GetTimestamp();
            for (var i = 1; i <= reports; i++)
            {
                await ApplyAsync(runId, FormattableString.Invariant($"e{i}"), FormattableString.Invariant($$""","agent":"voice","progress":{{i}}"""));
                await Task.Delay(100);
            }
            await ApplyAsync(runId, "end", ""","agent":"publisher","status":"completed" """);
            await Task.WhenAll(reading).WaitAsync(TimeSpan.FromMinutes(2));
            var active = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var (activeRun, activeEvents, _) = proxy.Counts;

            var expected = Enumerable.Range(1, reports + 2).Select(i => (long)i).ToList();
            var complete = streams.Count(s => s.Ended && s.Ids.SequenceEqual(expected));
            var problem = streams.FirstOrDefault(s => !s.Ended || !s.Ids.SequenceEqual(expected)) is { } bad
                ? $"a stream received [{string.Join(",", bad.Ids)}]{(bad.Ended ? "" : " without the end")}"
                : null;
            results.Add(new Result(n, join, idleRun / idle.TotalSeconds, idleEvents / idle.TotalSeconds,
                activeRun / active, activeEvents / active, active, reports + 2, complete, problem));
        }
        return results;
    }

    private static HttpRequestMessage Request(string runId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"api/projects/bench/runs/{runId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    [GeneratedRegex("TableEndpoint=([^;]+?)/?devstoreaccount1/?;")]
    private static partial Regex TableEndpoint();

    /// <summary>One stream, read as EventSource reads it: the progress events' ids in order, and whether it ended.</summary>
    private sealed class Stream
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<long> Ids { get; } = [];
        public bool Ended { get; private set; }
        public Task HasFirstEvent => _first.Task;

        public async Task FollowAsync(HttpClient client, string runId)
        {
            try
            {
                using var response = await client.SendAsync(Request(runId), HttpCompletionOption.ResponseHeadersRead);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                string? id = null, type = null;
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                    else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                    else if (line.Length == 0)
                    {
                        if (type == "progress") Ids.Add(long.Parse(id!, CultureInfo.InvariantCulture));
                        if (type == "end") Ended = true;
                        if (Ids.Count > 0) _first.TrySetResult();
                        id = type = null;
                    }
                }
            }
            finally
            {
                _first.TrySetResult();
            }
        }
    }

    /// <summary>
    /// A reverse proxy in front of the table endpoint that counts what passes: point reads of a run
    /// row, queries of a run's events, and anything else.
    /// </summary>
    private sealed class CountingProxy : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseCookies = false,
        });
        private long _runReads, _eventQueries, _other;

        private CountingProxy(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public (long RunReads, long EventQueries, long Other) Counts =>
            (Interlocked.Read(ref _runReads), Interlocked.Read(ref _eventQueries), Interlocked.Read(ref _other));

        public long Total => Counts.RunReads + Counts.EventQueries + Counts.Other;

        public void Reset()
        {
            Interlocked.Exchange(ref _runReads, 0);
            Interlocked.Exchange(ref _eventQueries, 0);
            Interlocked.Exchange(ref _other, 0);
        }

        public static async Task<CountingProxy> StartAsync(Uri target)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddHttpForwarder();
            var app = builder.Build();
            var proxy = new CountingProxy(app);
            var destination = target.GetLeftPart(UriPartial.Authority);
            app.Map("/{**path}", async (HttpContext context, IHttpForwarder forwarder) =>
            {
                proxy.Count(context.Request);
                await forwarder.SendAsync(context, destination, proxy._invoker);
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<IServerAddressesFeature>()!.Addresses.First();
            proxy.Address = new Uri(address.TrimEnd('/') + "/");
            return proxy;
        }

        private void Count(HttpRequest request)
        {
            var path = Uri.UnescapeDataString(request.Path.Value ?? "");
            var query = Uri.UnescapeDataString(request.QueryString.Value ?? "");
            if (HttpMethods.IsGet(request.Method) && path.Contains("RowKey='run|", StringComparison.Ordinal)) Interlocked.Increment(ref _runReads);
            else if (HttpMethods.IsGet(request.Method) && path.EndsWith("()", StringComparison.Ordinal) && query.Contains("'evt|", StringComparison.Ordinal)) Interlocked.Increment(ref _eventQueries);
            else Interlocked.Increment(ref _other);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _invoker.Dispose();
        }
    }
}

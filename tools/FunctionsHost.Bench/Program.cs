using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Azure.Storage.Queues;
using FunctionsHost;
using FunctionsHost.Bench;
using FunctionsHost.Rpc;
using FunctionsHost.Testing;
using FunctionsHost.Worker;
using Microsoft.Extensions.Logging;
using RunLedger.Tests.Support;

// dotnet tools/FunctionsHost.Bench/bin/Release/net10.0/FunctionsHost.Bench.dll [rounds] [requests] [messages]
// Prints figures; asserts nothing. Cold starts alternate host and baseline so both see the same machine load.
if (args is ["--empty-app", var portText])
{
    await EmptyApp.RunAsync(int.Parse(portText, CultureInfo.InvariantCulture));
    return;
}
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var requests = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
var messages = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1000;

var appDirectory = typeof(EmptyApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FixtureAppDirectory").Value!;
var azurite = await Azurite.GetAsync();
Dictionary<string, string?> Settings(string benchQueue) => new()
{
    ["AzureWebJobsStorage"] = azurite.ConnectionString,
    ["WorkQueue"] = "bench-work",
    ["BenchQueue"] = benchQueue,
    ["TickSchedule"] = "0 0 0 1 1 *",
};
using var client = new HttpClient();

// 1. Cold start: worker launch → first HTTP 200, under this host vs an empty ASP.NET Core app.
var hostStarts = new List<double>();
var emptyStarts = new List<double>();
for (var round = 0; round < rounds; round++)
{
    await using (var host = FunctionsHostApp.Create(new FunctionsHostOptions
    {
        AppDirectory = appDirectory,
        Settings = Settings("bench-idle"),
        Port = 0,
        ConfigureLogging = l => l.ClearProviders(),
    }))
    {
        await host.StartAsync();
        while (host.Supervisor.LaunchTimestamp == 0) await Task.Delay(1);
        hostStarts.Add((await Measure.FirstOkAsync(client, new Uri(host.BaseAddress, "api/ping"), host.Supervisor.LaunchTimestamp)).TotalMilliseconds);
    }
    var port = FreePort();
    var started = Stopwatch.GetTimestamp();
    using var empty = Process.Start(new ProcessStartInfo("dotnet") { ArgumentList = { typeof(EmptyApp).Assembly.Location, "--empty-app", port.ToString(CultureInfo.InvariantCulture) }, RedirectStandardOutput = true })!;
    emptyStarts.Add((await Measure.FirstOkAsync(client, new Uri($"http://127.0.0.1:{port}/api/ping"), started)).TotalMilliseconds);
    empty.Kill(entireProcessTree: true);
    await empty.WaitForExitAsync();
}

// 2. Latency per HTTP request: through the host vs calling the worker directly (the same
//    x-ms-invocation-id request plus InvocationRequest, without the host's routing and proxy).
List<double> viaHost, direct;
await using (var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions { AppDirectory = appDirectory, Settings = Settings("bench-idle") }))
{
    var worker = await harness.Host.Supervisor.WaitReadyAsync(CancellationToken.None);
    var ping = (await harness.Host.Supervisor.Functions).Single(f => f.Name == "Ping");
    var workerPing = new Uri(worker.HttpUri!, "api/ping");
    viaHost = await Measure.LatenciesAsync(async () => (await harness.Client.GetAsync("api/ping")).EnsureSuccessStatusCode().Dispose(), requests);
    direct = await Measure.LatenciesAsync(async () =>
    {
        var request = FunctionInvoker.NewRequest(ping, new TypedData { Http = new RpcHttp() }, new Dictionary<string, TypedData>());
        using var message = new HttpRequestMessage(HttpMethod.Get, workerPing);
        message.Headers.Add("x-ms-invocation-id", request.InvocationId);
        var invocation = worker.Channel.InvokeAsync(request);
        using var response = await client.SendAsync(message);
        response.EnsureSuccessStatusCode();
        await invocation;
    }, requests);
}

// 3. Queue throughput with an empty function: the queue is filled first, then the host drains it.
var queueName = Names.Queue("bench");
var queue = new QueueClient(azurite.ConnectionString, queueName);
await queue.CreateIfNotExistsAsync();
var body = Convert.ToBase64String(Encoding.UTF8.GetBytes("{}"));
await Parallel.ForAsync(0, messages, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) => await queue.SendMessageAsync(body, ct));
double perSecond;
await using (var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions { AppDirectory = appDirectory, Settings = Settings(queueName) }))
{
    var start = Stopwatch.GetTimestamp();
    await harness.WaitForQueueDrainedAsync(queueName, TimeSpan.FromMinutes(10));
    perSecond = messages / Stopwatch.GetElapsedTime(start).TotalSeconds;
}

Console.WriteLine($"Cold start, worker launch → first HTTP 200 (median of {rounds}):");
Console.WriteLine($"  under FunctionsHost          {Measure.Median(hostStarts),8:F0} ms   ({string.Join(", ", hostStarts.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})");
Console.WriteLine($"  empty ASP.NET Core app       {Measure.Median(emptyStarts),8:F0} ms   ({string.Join(", ", emptyStarts.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})");
Console.WriteLine($"HTTP request latency ({requests} sequential GET /api/ping):");
Console.WriteLine($"  through the host             median {Measure.Percentile(viaHost, 0.5),6:F2} ms   p95 {Measure.Percentile(viaHost, 0.95),6:F2} ms");
Console.WriteLine($"  worker called directly       median {Measure.Percentile(direct, 0.5),6:F2} ms   p95 {Measure.Percentile(direct, 0.95),6:F2} ms");
Console.WriteLine($"  added by the host            median {Measure.Percentile(viaHost, 0.5) - Measure.Percentile(direct, 0.5),6:F2} ms   p95 {Measure.Percentile(viaHost, 0.95) - Measure.Percentile(direct, 0.95),6:F2} ms");
Console.WriteLine($"Queue: {messages} messages, empty function: {perSecond:F0} messages/s (Azurite; batchSize 16)");

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

// ./demo.sh: plays one pipeline run against a running Run Ledger, the way production drives it.
// Make.com starts the run through the webhook; the agents report through the agent-progress queue
// (at least once, in no promised order); a dashboard watches the run's Server-Sent Events.
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunLedger.Demo;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using RunLedger.Ledger;

const string Usage = """
    Usage: ./demo.sh [--url URL] [--key KEY] [--project ID] [--queue NAME] [--wait SECONDS]
      --url      Run Ledger base URL (default http://localhost:7071)
      --key      function key sent as x-functions-key (default: env RUNLEDGER_KEY)
      --project  project id (default demo-project)
      --queue    progress queue (default agent-progress); storage from env AzureWebJobsStorage
      --wait     seconds (0-60) between printing the run's dashboard link and the first report (default 8),
                 time to open the link and watch the run live; 0 starts at once
    """;

var url = "http://localhost:7071";
var key = Environment.GetEnvironmentVariable("RUNLEDGER_KEY");
var projectId = "demo-project";
var queueName = "agent-progress";
var wait = TimeSpan.FromSeconds(8);
for (var i = 0; i < args.Length; i++)
{
    var hasValue = i + 1 < args.Length;
    switch (args[i])
    {
        case "--url" when hasValue: url = args[++i]; break;
        case "--key" when hasValue: key = args[++i]; break;
        case "--project" when hasValue: projectId = args[++i]; break;
        case "--queue" when hasValue: queueName = args[++i]; break;
        case "--wait" when hasValue && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 60:
            wait = TimeSpan.FromSeconds(seconds);
            i++;
            break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        default: Console.Error.WriteLine($"Unknown option or missing value: {args[i]}\n{Usage}"); return 2;
    }
}

// Storage as the app reaches it: AzureWebJobsStorage (a connection string or the identity-based
// settings) from the environment, Azurite's defaults when unset.
var settings = new ConfigurationBuilder()
    .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" })
    .AddEnvironmentVariables()
    .AddInMemoryCollection(new Dictionary<string, string?> { ["RunLedger:ProgressQueue"] = queueName })
    .Build();
QueueClient queue;
try
{
    queue = RunLedger.Hosting.LedgerServices.Storage(settings).Progress;
}
catch (InvalidOperationException e)
{
    return Fail($"AzureWebJobsStorage is not usable: {e.Message}");
}

// One deadline for the whole demo (and Ctrl+C), so nothing can hang it.
using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var ct = cancel.Token;

// No per-request timeout: the event stream stays open for as long as the run takes.
using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
if (!string.IsNullOrEmpty(key)) http.DefaultRequestHeaders.Add("x-functions-key", key);
// Relaxed escaping: this JSON is for reading in a terminal, so keep "×" and "+" as they are.
var indented = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

try
{
    using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
    probe.CancelAfter(TimeSpan.FromSeconds(10));
    using var health = await http.GetAsync(new Uri("api/health", UriKind.Relative), probe.Token);
}
catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
{
    return Fail($"Run Ledger is not reachable at {url} ({e.Message}); start it with ./run.sh");
}

// 1. Start the run exactly as the Make.com scenario does.
var startBody = new JsonObject
{
    ["projectId"] = projectId,
    ["triggeredBy"] = "make.com",
    ["seedData"] = new JsonObject
    {
        ["topic"] = "Why octopuses have three hearts",
        ["lead_url"] = "https://example.com/leads/octopus-hearts",
    },
    ["config"] = new JsonObject
    {
        ["pipeline"] = new JsonObject { ["finalAgent"] = "publisher" },
        ["invoice"] = new JsonObject { ["markupRate"] = 0.2 },
    },
};
using var startRequest = new HttpRequestMessage(HttpMethod.Post, new Uri("api/pipelines", UriKind.Relative))
{
    Content = new StringContent(startBody.ToJsonString(), Encoding.UTF8, "application/json"),
};
startRequest.Headers.Add("Idempotency-Key", $"demo-{Guid.NewGuid()}");
using var started = await http.SendAsync(startRequest, ct);
if (started.StatusCode != HttpStatusCode.Accepted)
{
    return Fail(await Describe(started));
}
var run = JsonNode.Parse(await started.Content.ReadAsStringAsync(ct))!.AsObject();
var runId = (string)run["runId"]!;
var createdAt = DateTimeOffset.Parse((string)run["createdAt"]!, CultureInfo.InvariantCulture);
var runPath = $"api/projects/{Uri.EscapeDataString(projectId)}/runs/{Uri.EscapeDataString(runId)}";
Console.WriteLine($"Run started:  {runId} (status {run["status"]})");
Console.WriteLine($"Status URL:   {new Uri(http.BaseAddress, started.Headers.Location ?? new Uri(runPath, UriKind.Relative))}");
Console.WriteLine($"Live events:  {new Uri(http.BaseAddress, runPath + "/events")}");
// The run page, with a read-only token for this run in the fragment: safe to open or share.
Console.WriteLine($"Dashboard:    {run["dashboardUrl"]}");
Console.WriteLine();
if (wait > TimeSpan.Zero)
{
    Console.WriteLine($"Open the dashboard link to watch the run live; agents start reporting in {wait.TotalSeconds:0.#} s (--wait 0 skips this).");
    await Task.Delay(wait, ct);
}

// 2. Watch the run live, as a dashboard would, while the agents work.
var seen = 0;
var stream = Task.Run(async () =>
{
    var status = (string?)run["status"];
    var latest = DateTimeOffset.MinValue;
    await foreach (var evt in new SseReader(http).ReadAsync(runPath + "/events", ct))
    {
        if (evt.Type == "end")
        {
            var end = JsonNode.Parse(evt.Data)?.AsObject();
            Console.WriteLine($"[end] run {end?["status"]}, last event #{end?["lastEventId"]}");
            break;
        }
        var e = JsonNode.Parse(evt.Data)!.AsObject();
        Interlocked.Increment(ref seen);
        var made = DateTimeOffset.Parse((string)e["timestamp"]!, CultureInfo.InvariantCulture);
        var late = made < latest ? "  (made earlier than the one before: arrived late)" : "";
        latest = made > latest ? made : latest;
        Console.WriteLine($"[#{evt.Id}] {e["agent"]} {e["status"]} {e["progress"]}% {e["message"]}{Extras(e)}{late}");

        // Events carry the agent's status; the run's own status is on the run.
        var now = await GetJson(runPath);
        if ((string?)now?["status"] is { } current && current != status)
        {
            Console.WriteLine($"       run status: {status} -> {current}");
            status = current;
        }
    }
}, ct);

// 3. The agents: each report goes to the queue base64-encoded, as the Functions trigger expects.
var script = AgentScript.For(projectId, runId);
var eventIds = new Dictionary<string, string>();
var unique = 0;
for (var i = 0; i < script.Count; i++)
{
    var (report, note) = script[i];
    if (i == script.Count - 1)
    {
        // The run completes with the final report and the stream ends there, so let the earlier
        // reports land first: a report applied after completion is history the stream never shows.
        await WaitUntil(() => Volatile.Read(ref seen) >= unique, TimeSpan.FromSeconds(15));
    }
    if (!eventIds.TryGetValue(report.Name, out var eventId))
    {
        eventId = eventIds[report.Name] = Guid.NewGuid().ToString();
        unique++;
    }
    var message = new JsonObject
    {
        ["projectId"] = projectId,
        ["runId"] = runId,
        ["eventId"] = eventId,
        ["agent"] = report.Agent,
        ["status"] = report.Status,
        ["message"] = report.Message,
        ["progress"] = report.Progress,
        ["timestamp"] = createdAt.AddSeconds(report.At).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
    };
    if (report.Usage is { } usage) message["usage"] = usage.DeepClone();
    if (report.Artifacts is { } artifacts) message["artifacts"] = artifacts.DeepClone();
    if (report.Metadata is { } metadata) message["metadata"] = metadata.DeepClone();
    try
    {
        await queue.SendMessageAsync(message.ToJsonString(), cancellationToken: ct);
    }
    catch (Exception e) when (e is Azure.RequestFailedException or AggregateException or HttpRequestException)
    {
        return Fail($"Could not send to queue '{queueName}' (is Azurite running? ./run.sh starts it): {e.Message}");
    }
    Console.WriteLine($"   -> queue: {report.Agent} {report.Status} {report.Progress}%{(note is null ? "" : $"  [{note}]")}");
    // Short pauses keep the live stream watchable.
    await Task.Delay(300 + (i * 173 % 300), ct);
}

// 4. The stream ends once the run is completed and every event was sent.
try
{
    await stream.WaitAsync(TimeSpan.FromSeconds(30), ct);
}
catch (TimeoutException)
{
    return Fail("The event stream did not end within 30 s of the last report; is the app processing the queue?");
}
catch (HttpRequestException e)
{
    return Fail($"Watching the run failed: {e.Message}");
}

Console.WriteLine();
var final = await GetJson(runPath);
Console.WriteLine("Final run:");
Console.WriteLine(final?.ToJsonString(indented));
using (var costs = await http.GetAsync(new Uri(runPath + "/costs", UriKind.Relative), ct))
{
    // The costs endpoint is newer than this demo; where it is missing, say nothing.
    if (costs.StatusCode == HttpStatusCode.OK)
    {
        Console.WriteLine("Costs:");
        Console.WriteLine(JsonNode.Parse(await costs.Content.ReadAsStringAsync(ct))?.ToJsonString(indented));
    }
    else if (costs.StatusCode != HttpStatusCode.NotFound)
    {
        Console.WriteLine($"Costs: {await Describe(costs)}");
    }
}

var finalStatus = (string?)final?["status"];
var ok = finalStatus == "completed" && seen == unique;
Console.WriteLine();
Console.WriteLine(
    $"Summary: {finalStatus} | {seen} events from {script.Count} reports sent " +
    $"({unique} unique, {script.Count - unique} redeliveries ignored){(seen == unique ? "" : " - EXPECTED " + unique)} | " +
    $"totalTokens {final?["totalTokens"]} | totalCost {final?["totalCost"]}");
return ok ? 0 : 1;

async Task<JsonObject?> GetJson(string path)
{
    using var response = await http.GetAsync(new Uri(path, UriKind.Relative), ct);
    if (!response.IsSuccessStatusCode) throw new HttpRequestException(await Describe(response));
    return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?.AsObject();
}

async Task<string> Describe(HttpResponseMessage response)
{
    var hint = response.StatusCode == HttpStatusCode.Unauthorized ? " (pass --key or set RUNLEDGER_KEY)" : "";
    var body = await response.Content.ReadAsStringAsync(ct);
    return $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}{hint}: {body}";
}

async Task WaitUntil(Func<bool> condition, TimeSpan limit)
{
    var until = DateTime.UtcNow + limit;
    while (!condition() && DateTime.UtcNow < until && !stream.IsCompleted) await Task.Delay(100, ct);
}

static string Extras(JsonObject e)
{
    var extras = new StringBuilder();
    if (e["usage"] is JsonObject usage)
    {
        extras.Append(CultureInfo.InvariantCulture, $"  | usage {usage["model"]}");
        foreach (var (name, value) in usage.Where(u => u.Key != "model")) extras.Append(CultureInfo.InvariantCulture, $" {name}={value}");
    }
    if (e["artifacts"] is JsonObject artifacts) extras.Append("  | artifacts ").AppendJoin(", ", artifacts.Select(a => a.Key));
    return extras.ToString();
}

static int Fail(string message)
{
    Console.Error.WriteLine($"demo: {message}");
    return 1;
}

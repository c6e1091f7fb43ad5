using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// What each HTTP function declares beside its route (and the OpenAPI document carries) is what it
/// answers, both ways: a representative set of valid and invalid requests to every function gets
/// only declared statuses and media types, with JSON bodies that fit their schemas (and the
/// accepted request bodies fit theirs); and every declared answer and refusal is met by one of
/// those requests, except those no request can cause here (500, 503, and 501, which needs an app
/// without a signing secret).
/// </summary>
public sealed class DeclaredOutcomesTests(DeclaredOutcomesTests.Host host) : LedgerTest(host), IClassFixture<DeclaredOutcomesTests.Host>
{
    private const string AdminKey = "outcomes-admin-key-0123456789";
    private const string Secret = "outcomes-callback-secret-0123";

    public sealed class Host : LedgerHost
    {
        public CallbackReceiver Receiver { get; private set; } = null!;

        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [
            new("RunLedger__AdminKeys", AdminKey), new("RunLedger__SigningSecrets", "outcomes-signing-secret-0123456789abcdef"),
            // Live streams end after a second, so the stream of an active run is read whole.
            new("RunLedger__StreamMaxDuration", "00:00:01"), new("RunLedger__StreamHeartbeat", "00:00:00.500"),
        ];

        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("maxPollingInterval", "00:00:00.200"), new("visibilityTimeout", "00:00:00.200")];

        public override async Task InitializeAsync()
        {
            Receiver = await CallbackReceiver.StartAsync();
            await base.InitializeAsync();
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }

    private sealed record Answer(int Status, string? MediaType, string Body, HttpResponseHeaders Headers);

    private readonly List<string> _failures = [];
    private readonly HashSet<(string Function, int Status, string? MediaType)> _seen = [];
    private readonly Dictionary<string, Func<HttpRequestMessage>> _valid = new(StringComparer.Ordinal);
    private OpenApiContract _contract = null!;
    private HttpClient _http = null!;

    [Fact]
    public async Task EveryFunctionAnswersOnlyWhatItDeclaresAndEveryDeclaredAnswerHappens()
    {
        // The fixture's client (waits, reads) is the admin; the requests checked carry their own credential.
        if (!Client.DefaultRequestHeaders.Contains("x-functions-key")) Client.DefaultRequestHeaders.Add("x-functions-key", AdminKey);
        _contract = await OpenApiContract.ReadAsync(Client);
        using var http = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        _http = http;
        var receiver = ((Host)App).Receiver;
        var other = P + "-other";
        var otherKey = (string)JsonNode.Parse((await SendAsync("CreateProjectKey", 200, HttpMethod.Post, $"/api/projects/{other}/keys")).Body)!["key"]!;

        // Config, with a budget and callbacks, so budgets, alerts and deliveries have something to show.
        var config = $$"""
            {"pipeline":{"finalAgent":"publisher","staleAfter":"PT2H"},"invoice":{"markupRate":0.25},"budget":{"monthlyUsd":1,"alertAt":[0.5,1]},
             "callbacks":[{"url":"{{receiver.Url("/outcomes/" + P, Secret)}}","events":["completed","cancelled","budget"],"secret":"{{Secret}}"}],"owner":"ops"}
            """;
        await SendAsync("PutProjectConfig", 200, HttpMethod.Put, $"/api/projects/{P}/config", config);
        await SendAsync("PutProjectConfig", 400, HttpMethod.Put, $"/api/projects/{P}/config", """{"invoice":{"markupRate":-1}}""");
        await SendAsync("PutProjectConfig", 415, HttpMethod.Put, $"/api/projects/{P}/config", "x", "text/plain");
        await SendAsync("PutProjectConfig", 413, HttpMethod.Put, $"/api/projects/{P}/config", Huge());
        await SendAsync("GetProjectConfig", 200, HttpMethod.Get, $"/api/projects/{P}/config");
        await SendAsync("GetProjectConfig", 404, HttpMethod.Get, $"/api/projects/{other}/config");
        await SendAsync("GetProjectConfig", 400, HttpMethod.Get, "/api/projects/a%20b/config");

        // Starts: new, retried, the key or the run id reused with another body, refused bodies.
        var start = $$$"""{"projectId":"{{{P}}}","runId":"R1","triggeredBy":"Make.com","seedData":{"topic":"outcomes"}}""";
        await SendAsync("StartPipeline", 202, HttpMethod.Post, "/api/pipelines", start, headers: [("Idempotency-Key", "k1")]);
        await SendAsync("StartPipeline", 202, HttpMethod.Post, "/api/pipelines", start, headers: [("Idempotency-Key", "k1")]);
        await SendAsync("StartPipeline", 422, HttpMethod.Post, "/api/pipelines", start.Replace("outcomes", "other", StringComparison.Ordinal), headers: [("Idempotency-Key", "k1")]);
        await SendAsync("StartPipeline", 409, HttpMethod.Post, "/api/pipelines", start.Replace("outcomes", "other", StringComparison.Ordinal));
        await SendAsync("StartPipeline", 400, HttpMethod.Post, "/api/pipelines", """{"projectId":"a b"}""");
        await SendAsync("StartPipeline", 415, HttpMethod.Post, "/api/pipelines", "x", "text/plain");
        await SendAsync("StartPipeline", 413, HttpMethod.Post, "/api/pipelines", Huge());
        foreach (var run in new[] { "R2", "R3" })
        {
            await SendAsync("StartPipeline", 202, HttpMethod.Post, "/api/pipelines", $$"""{"projectId":"{{P}}","runId":"{{run}}"}""");
        }

        // Reports: applied (with usage, artifacts, metadata), repeated, refused; then the final agent completes R1.
        var report = """
            {"eventId":"e1","agent":"voice","status":"running","message":"voicing","progress":10,"usage":{"model":"gpt-4o","inputTokens":1000,"outputTokens":500,"costUsd":0.6},
             "artifacts":{"narrationKey":"a.mp3"},"metadata":{"voice":{"characters":5}},"timestamp":"2020-01-01T00:00:00Z"}
            """;
        await SendAsync("PostProgress", 202, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", report);
        await SendAsync("PostProgress", 200, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", report);
        await SendAsync("PostProgress", 202, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress",
            """{"agent":"writer","usage":{"model":"gpt-4o","inputTokens":2000}}""", headers: [("Idempotency-Key", "e2")]);
        await SendAsync("PostProgress", 202, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", """{"agent":"mixer","usage":{"model":"no-such-model","requests":1}}""");
        await SendAsync("PostProgress", 202, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", """{"eventId":"e9","agent":"publisher","status":"completed"}""");
        await SendAsync("PostProgress", 404, HttpMethod.Post, $"/api/projects/{P}/runs/R_missing/progress", """{"agent":"voice"}""");
        await SendAsync("PostProgress", 400, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", """{"progress":"lots"}""");
        await SendAsync("PostProgress", 415, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", "x", "text/plain");
        await SendAsync("PostProgress", 413, HttpMethod.Post, $"/api/projects/{P}/runs/R1/progress", Huge());

        // Runs.
        var r2 = await SendAsync("GetRun", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R2");
        await SendAsync("GetRun", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R1");
        await SendAsync("GetRun", 404, HttpMethod.Get, $"/api/projects/{P}/runs/R_missing");
        await SendAsync("GetRun", 400, HttpMethod.Get, $"/api/projects/{P}/runs/a%20b");
        await SendAsync("GetLatestRun", 200, HttpMethod.Get, $"/api/projects/{P}/runs/latest");
        await SendAsync("GetLatestRun", 404, HttpMethod.Get, $"/api/projects/{other}/runs/latest");
        await SendAsync("GetLatestRun", 400, HttpMethod.Get, "/api/projects/a%20b/runs/latest");
        await SendAsync("ListRuns", 200, HttpMethod.Get, $"/api/projects/{P}/runs?limit=2");
        await SendAsync("ListRuns", 200, HttpMethod.Get, $"/api/projects/{P}/runs?status=DONE");
        await SendAsync("ListRuns", 400, HttpMethod.Get, $"/api/projects/{P}/runs?status=bogus");
        await SendAsync("PatchRun", 200, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", """{"status":"running","message":"patched","custom":{"a":1}}""",
            headers: [("If-Match", r2.Headers.ETag!.ToString())]);
        await SendAsync("PatchRun", 200, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", """{"step":"mixing","custom":{"a":null}}""", "application/merge-patch+json");
        await SendAsync("PatchRun", 412, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", """{"message":"late"}""", headers: [("If-Match", r2.Headers.ETag!.ToString())]);
        await SendAsync("PatchRun", 409, HttpMethod.Patch, $"/api/projects/{P}/runs/R1", """{"status":"running"}""");
        await SendAsync("PatchRun", 404, HttpMethod.Patch, $"/api/projects/{P}/runs/R_missing", """{"message":"x"}""");
        await SendAsync("PatchRun", 400, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", """{"runId":"x"}""");
        await SendAsync("PatchRun", 415, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", "x", "text/plain");
        await SendAsync("PatchRun", 413, HttpMethod.Patch, $"/api/projects/{P}/runs/R2", Huge());

        // Cancel: once, again (a retry), a completed run, refusals.
        await SendAsync("CancelRun", 200, HttpMethod.Post, $"/api/projects/{P}/runs/R2/cancel", """{"reason":"outcomes"}""");
        await SendAsync("CancelRun", 200, HttpMethod.Post, $"/api/projects/{P}/runs/R2/cancel", null);
        await SendAsync("CancelRun", 409, HttpMethod.Post, $"/api/projects/{P}/runs/R1/cancel", null);
        await SendAsync("CancelRun", 404, HttpMethod.Post, $"/api/projects/{P}/runs/R_missing/cancel", null);
        await SendAsync("CancelRun", 400, HttpMethod.Post, $"/api/projects/{P}/runs/R3/cancel", """{"bogus":1}""");
        await SendAsync("CancelRun", 415, HttpMethod.Post, $"/api/projects/{P}/runs/R3/cancel", "x", "text/plain");
        await SendAsync("CancelRun", 413, HttpMethod.Post, $"/api/projects/{P}/runs/R3/cancel", Huge());
        await SendAsync("GetRunCounts", 200, HttpMethod.Get, $"/api/projects/{P}/runs/counts");
        await SendAsync("GetRunCounts", 400, HttpMethod.Get, "/api/projects/a%20b/runs/counts");

        // History: a page, a live stream (R3 is still queued: it ends after a second), the end of a final run's stream.
        await SendAsync("GetRunEvents", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R1/events?limit=2");
        await SendAsync("GetRunEvents", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R3/events", accept: "text/event-stream");
        await SendAsync("GetRunEvents", 204, HttpMethod.Get, $"/api/projects/{P}/runs/R2/events", accept: "text/event-stream", headers: [("Last-Event-ID", "99")]);
        await SendAsync("GetRunEvents", 400, HttpMethod.Get, $"/api/projects/{P}/runs/R1/events?after=abc");
        await SendAsync("GetRunEvents", 404, HttpMethod.Get, $"/api/projects/{P}/runs/R_missing/events");

        // Money.
        await SendAsync("GetRunCosts", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R1/costs");
        await SendAsync("GetRunCosts", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R1/costs", accept: "text/csv");
        await SendAsync("GetRunCosts", 404, HttpMethod.Get, $"/api/projects/{P}/runs/R_missing/costs");
        await SendAsync("GetRunCosts", 400, HttpMethod.Get, $"/api/projects/{P}/runs/a%20b/costs");
        await SendAsync("GetCostSummary", 200, HttpMethod.Get, $"/api/costs/summary?projectId={P}&from=2020-01-01");
        await SendAsync("GetCostSummary", 200, HttpMethod.Get, "/api/costs/summary");
        await SendAsync("GetCostSummary", 400, HttpMethod.Get, $"/api/costs/summary?projectId={P}&from=notadate");
        await SendAsync("GetTopRuns", 200, HttpMethod.Get, $"/api/costs/top?projectId={P}&limit=5");
        await SendAsync("GetTopRuns", 400, HttpMethod.Get, $"/api/costs/top?projectId={P}&limit=0");
        await Eventually.HoldsAsync(async () => receiver.For("/outcomes/" + P).Count >= 3, "the completed, cancelled and budget callbacks to be delivered");
        await SendAsync("GetProjectBudget", 200, HttpMethod.Get, $"/api/projects/{P}/budget");
        await SendAsync("GetProjectBudget", 200, HttpMethod.Get, $"/api/projects/{other}/budget");
        await SendAsync("GetProjectBudget", 400, HttpMethod.Get, "/api/projects/a%20b/budget");

        // Monthly statements: an ended month closes (again: the same), the current one cannot.
        await SendAsync("GetStatement", 200, HttpMethod.Get, $"/api/projects/{P}/statements/2026-11");
        await SendAsync("GetStatement", 200, HttpMethod.Get, $"/api/projects/{P}/statements/2026-11", accept: "text/csv");
        await SendAsync("GetStatement", 400, HttpMethod.Get, $"/api/projects/{P}/statements/2026-13");
        await SendAsync("CloseStatement", 200, HttpMethod.Post, $"/api/projects/{P}/statements/2020-01/close", """{"closedBy":"ops","currency":"EUR","rate":"0.92","rateDate":"2020-02-01"}""");
        await SendAsync("CloseStatement", 200, HttpMethod.Post, $"/api/projects/{P}/statements/2020-01/close", null);
        await SendAsync("CloseStatement", 409, HttpMethod.Post, $"/api/projects/{P}/statements/2999-01/close", null);
        await SendAsync("CloseStatement", 400, HttpMethod.Post, $"/api/projects/{P}/statements/2020-01/close", """{"currency":"usd","rate":1,"rateDate":"2020-02-01"}""");
        await SendAsync("CloseStatement", 415, HttpMethod.Post, $"/api/projects/{P}/statements/2020-01/close", "x", "text/plain");
        await SendAsync("CloseStatement", 413, HttpMethod.Post, $"/api/projects/{P}/statements/2020-01/close", Huge());
        await SendAsync("ListStatements", 200, HttpMethod.Get, $"/api/projects/{P}/statements");
        await SendAsync("ListStatements", 400, HttpMethod.Get, "/api/projects/a%20b/statements");
        await SendAsync("GetOverview", 200, HttpMethod.Get, "/api/overview");
        await SendAsync("RepriceProject", 200, HttpMethod.Post, $"/api/projects/{P}/reprice", """{"from":"2026-11-01","to":"2026-11-30"}""");
        await SendAsync("RepriceProject", 200, HttpMethod.Post, $"/api/projects/{P}/reprice", """{"from":"2020-01-01","to":"2020-01-31","dryRun":false}""");
        await SendAsync("RepriceProject", 400, HttpMethod.Post, $"/api/projects/{P}/reprice", """{"from":"2026-12-01","to":"2026-11-01"}""");
        await SendAsync("RepriceProject", 415, HttpMethod.Post, $"/api/projects/{P}/reprice", "x", "text/plain");
        await SendAsync("RepriceProject", 413, HttpMethod.Post, $"/api/projects/{P}/reprice", Huge());

        // The price book.
        await SendAsync("GetPricing", 200, HttpMethod.Get, "/api/pricing");
        await SendAsync("PutModelPricing", 200, HttpMethod.Put, "/api/pricing/models/declared-model", """{"prices":[{"effective":"2020-01-01","requestsPerRequest":"0.01"}]}""");
        await SendAsync("PutModelPricing", 400, HttpMethod.Put, "/api/pricing/models/declared-model", """{"prices":[{"effective":"soon"}]}""");
        await SendAsync("PutModelPricing", 415, HttpMethod.Put, "/api/pricing/models/declared-model", "x", "text/plain");
        await SendAsync("PutModelPricing", 413, HttpMethod.Put, "/api/pricing/models/declared-model", Huge());
        await SendAsync("ListRunCallbacks", 200, HttpMethod.Get, $"/api/projects/{P}/runs/R1/callbacks");
        await SendAsync("ListRunCallbacks", 404, HttpMethod.Get, $"/api/projects/{P}/runs/R_missing/callbacks");
        await SendAsync("ListRunCallbacks", 400, HttpMethod.Get, $"/api/projects/{P}/runs/a%20b/callbacks");

        // Dead letters: one malformed report from the queue.
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"R3","progress":"lots"}""");
        await Eventually.HoldsAsync(async () => (await Client.GetStringAsync("/api/deadletters")).Contains(P, StringComparison.Ordinal), "the malformed report to be dead-lettered");
        await SendAsync("ListDeadLetters", 200, HttpMethod.Get, "/api/deadletters?limit=1");
        await SendAsync("ListDeadLetters", 400, HttpMethod.Get, "/api/deadletters?continuationToken=!!!");

        // Credentials.
        await SendAsync("CreateProjectKey", 200, HttpMethod.Post, $"/api/projects/{P}/keys");
        await SendAsync("CreateProjectKey", 400, HttpMethod.Post, "/api/projects/a%20b/keys");
        await SendAsync("CreateReadOnlyLink", 200, HttpMethod.Post, $"/api/projects/{P}/links", null);
        await SendAsync("CreateReadOnlyLink", 200, HttpMethod.Post, $"/api/projects/{P}/links", """{"runId":"R1","expiresIn":"PT1H"}""");
        await SendAsync("CreateReadOnlyLink", 404, HttpMethod.Post, $"/api/projects/{P}/links", """{"runId":"R_missing"}""");
        await SendAsync("CreateReadOnlyLink", 400, HttpMethod.Post, $"/api/projects/{P}/links", """{"expiresIn":"soon"}""");
        await SendAsync("CreateReadOnlyLink", 415, HttpMethod.Post, $"/api/projects/{P}/links", "x", "text/plain");
        await SendAsync("CreateReadOnlyLink", 413, HttpMethod.Post, $"/api/projects/{P}/links", Huge());

        // The service and the dashboard's files (each again with its ETag: 304).
        await SendAsync("Health", 200, HttpMethod.Get, "/api/health", key: null);
        await SendAsync("GetOpenApiDocument", 200, HttpMethod.Get, "/api/openapi.json", key: null);
        foreach (var (function, url) in new[]
                 {
                     ("DashboardProjectPage", $"/api/dashboard/projects/{P}"), ("DashboardRunPage", $"/api/dashboard/projects/{P}/runs/R1"),
                     ("DashboardCostsPage", "/api/dashboard/costs"), ("DashboardAsset", "/api/dashboard/assets/common.js"),
                     ("DashboardStatementPage", $"/api/dashboard/projects/{P}/statements/2026-11"),
                     ("DashboardAsset", "/api/dashboard/assets/dashboard.css"), ("DashboardAsset", "/api/dashboard/assets/icon.svg"),
                 })
        {
            var page = await SendAsync(function, 200, HttpMethod.Get, url, key: null);
            await SendAsync(function, 304, HttpMethod.Get, url, key: null, headers: [("If-None-Match", page.Headers.ETag!.ToString())]);
        }
        await SendAsync("DashboardProjectPage", 400, HttpMethod.Get, "/api/dashboard/projects/a%20b", key: null);
        await SendAsync("DashboardRunPage", 400, HttpMethod.Get, $"/api/dashboard/projects/{P}/runs/a%20b", key: null);
        await SendAsync("DashboardAsset", 404, HttpMethod.Get, "/api/dashboard/assets/nope.js", key: null);
        await SendAsync("DashboardStatementPage", 400, HttpMethod.Get, $"/api/dashboard/projects/{P}/statements/november", key: null);

        // Every function that needs a credential, with none (401) and with another project's key (403).
        foreach (var (function, operation) in _contract.Operations.Where(o => o.Value["security"] is not null).OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            Assert.True(_valid.ContainsKey(function), $"{function} got no successful request to repeat.");
            await SendAsync(function, 401, _valid[function], key: null);
            await SendAsync(function, 403, _valid[function], key: otherKey);
        }

        foreach (var (function, _) in _contract.Operations)
        {
            foreach (var status in _contract.Statuses(function).Where(s => s is not (500 or 501 or 503)))
            {
                var types = _contract.MediaTypes(function, status);
                IReadOnlyList<string?> wanted = types.Count == 0 || status >= 400 ? [null] : [.. types];
                foreach (var type in wanted)
                {
                    if (!_seen.Any(s => s.Function == function && s.Status == status && (type is null || s.MediaType == type)))
                    {
                        _failures.Add($"{function} declares {status}{(type is null ? "" : " as " + type)}, which no request met");
                    }
                }
            }
        }
        Assert.True(_failures.Count == 0, string.Join("\n", _failures));
    }

    private Task<Answer> SendAsync(string function, int expected, HttpMethod method, string url, string? body = null, string contentType = "application/json",
        string? accept = null, string? key = AdminKey, params (string Name, string Value)[] headers) =>
        SendAsync(function, expected, () =>
        {
            var request = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
            if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
            foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
            return request;
        }, key);

    private async Task<Answer> SendAsync(string function, int expected, Func<HttpRequestMessage> build, string? key)
    {
        using var request = build();
        if (key is not null) request.Headers.TryAddWithoutValidation("x-functions-key", key);
        var sent = request.Content is null ? "" : await request.Content.ReadAsStringAsync();
        var requestType = request.Content?.Headers.ContentType?.MediaType;
        using var response = await _http.SendAsync(request);
        var status = (int)response.StatusCode;
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var text = await response.Content.ReadAsStringAsync();
        var what = $"{request.Method} {request.RequestUri}";
        if (!_contract.Operations.ContainsKey(function)) _failures.Add($"{function} is not in the document");
        else
        {
            if (status != expected) _failures.Add($"{what} ({function}) answered {status}, not {expected}: {(text.Length > 300 ? text[..300] : text)}");
            _failures.AddRange(_contract.CheckAnswer(function, status, mediaType, text).Select(p => $"{p} ({what})"));
            if (status is >= 200 and < 300 && requestType is "application/json" or "application/merge-patch+json" && sent.Length < 100_000)
            {
                _failures.AddRange(_contract.CheckRequest(function, sent).Select(p => $"{p} ({what})"));
            }
        }
        _seen.Add((function, status, mediaType));
        if (status is >= 200 and < 300 && key == AdminKey) _valid.TryAdd(function, build);
        return new Answer(status, mediaType, text, response.Headers);
    }

    /// <summary>A JSON body just over the ledger's 1 MiB limit.</summary>
    private static string Huge() => $$"""{"message":"{{new string('h', 1_100_000)}}"}""";
}

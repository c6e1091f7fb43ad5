using RunLedger.Http;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Access;
using RunLedger.Hosting;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// A credential the access fuzz presents and what it may do: up to <paramref name="Allows"/>, in
/// <paramref name="Project"/> (and only on <paramref name="RunId"/>) when it is scoped.
/// </summary>
public sealed record Credential(string Kind, string Value, Need Allows, string? Project = null, string? RunId = null)
{
    /// <summary>
    /// Whether a 2xx for a function needing <paramref name="need"/> at <paramref name="url"/> is allowed with
    /// this credential. Where the project is not in the route (a start names it in its body, the cost
    /// reports in the query) only the level is checked; the function demands the scope itself.
    /// </summary>
    public bool Grants(Need need, string url)
    {
        if (need == Need.Anyone) return true;
        if (need > Allows) return false;
        var path = url.Split('?')[0];
        if (Project is null || !path.Contains("/projects/", StringComparison.Ordinal)) return true;
        var scope = RunId is null ? $"/api/projects/{Project}/" : $"/api/projects/{Project}/runs/{RunId}";
        return (path + "/").StartsWith(scope.TrimEnd('/') + "/", StringComparison.Ordinal);
    }
}

/// <summary>
/// The HTTP fuzz shared by <see cref="FuzzTests"/> (access open, as in development) and
/// <see cref="AccessFuzzTests"/> (admin keys set, so every request's credential is checked).
/// </summary>
public abstract class HttpFuzzTest(LedgerHost host, ITestOutputHelper output) : LedgerTest(host)
{
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>
    /// Fuzzes every HTTP function with <paramref name="count"/> inputs. With <paramref name="credentials"/>
    /// (the host enforces access), each input carries one of them, in the header or as <c>?code=</c>, and an
    /// input whose credential does not grant what its function needs must not succeed.
    /// </summary>
    protected async Task FuzzHttpAsync(Figures figures, int seed, int count, Func<Task<IReadOnlyList<Credential>>>? credentials)
    {
        var runIds = new List<string>();
        (await Client.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/projects/{P}/config")
        {
            Content = new StringContent("""{"pipeline":{"finalAgent":"publisher"},"invoice":{"markupRate":0.25}}""", Encoding.UTF8, "application/json"),
        })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 4; i++) runIds.Add((string)(await StartAsync($$$"""{"projectId":"{{{P}}}","runId":"RUN_FZ{{{i}}}","seedData":{"n":{{{i}}}}}"""))["runId"]!);
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/RUN_FZ4/progress",
            """{"eventId":"done","agent":"publisher","status":"completed","usage":{"model":"gpt-4o","inputTokens":100}}""")).EnsureSuccessStatusCode();

        var functions = OpenApiDocument.HttpFunctions(typeof(OpenApiDocument).Assembly)
            .Select(f => (f.Name, Methods: f.Methods.ToList(), f.Route, Need: f.Access?.Need ?? Need.Anyone)).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var inputs = new HostileInputs(seed, P, runIds);
        var keys = credentials is null ? null : await credentials();
        var pickKey = new Random(seed);
        var perCredential = new SortedDictionary<string, int>(StringComparer.Ordinal);
        using var fuzzClient = new HttpClient { BaseAddress = App.Harness.BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
        figures.Line($"seed {seed} (replay: RELIABILITY_SEED={seed}); {count} inputs over {functions.Count} HTTP functions: {string.Join(", ", functions.Select(f => f.Name))}" +
                     (keys is null ? "" : $"; access enforced, {keys.Count} credentials ({string.Join(", ", keys.Select(k => k.Kind).Distinct())})"));

        var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var perFunction = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var perKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
        // Each function's statuses as the fuzz met them, with the first input that got each.
        var observed = new Dictionary<(string Function, int Status), string>();
        var failures = new List<string>();
        int refused = 0, unchanged = 0, refusedByWebServer = 0, writes = 0, readBacks = 0;
        var clock = Stopwatch.StartNew();
        var before = await SnapshotAsync();
        for (var i = 0; i < count; i++)
        {
            var (name, methods, route, need) = functions[i % functions.Count];
            var request = inputs.Request(name, methods, route);
            Credential? key = null;
            if (keys is not null)
            {
                // A kind first, then one of its values, so the many forged ones do not crowd out the valid kinds.
                var kinds = keys.Select(k => k.Kind).Distinct().ToList();
                var kind = kinds[pickKey.Next(kinds.Count)];
                var ofKind = keys.Where(k => k.Kind == kind).ToList();
                key = ofKind[pickKey.Next(ofKind.Count)];
                request = pickKey.Next(2) == 0 || key.Value.Length == 0
                    ? request with { Headers = [.. request.Headers.Where(h => h.Name != "x-functions-key"), ("x-functions-key", key.Value)] }
                    : request with { Url = request.Url + (request.Url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "code=" + Uri.EscapeDataString(key.Value) };
                Add(perCredential, key.Kind);
            }
            var (status, verdict) = await SendAsync(fuzzClient, request);
            if (key is not null && status is >= 200 and < 300 && !key.Grants(need, request.Url))
            {
                verdict = $"succeeded ({status}) with a {key.Kind} credential, which does not grant {need}";
            }
            if (verdict is not null && IsRefusedByWebServer(request, status))
            {
                refusedByWebServer++;
                verdict = null;
            }
            else if (status > 0)
            {
                observed.TryAdd((name, status), $"#{i} {request.Describe()}");
            }
            Add(statuses, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add(perFunction, name);
            Add(perKind, request.BodyKind);
            if (verdict is not null) failures.Add($"#{i} {verdict}: {request.Describe()}");

            var after = await SnapshotAsync();
            if (status is < 200 or > 299)
            {
                refused++;
                if (after == before) unchanged++;
                else failures.Add($"#{i} answered {status} but changed storage ({Difference(before, after)}): {request.Describe()}");
            }
            else if (after != before)
            {
                // Whatever was accepted must read back everywhere it shows.
                writes++;
                foreach (var url in ReadBackUrls(runIds))
                {
                    readBacks++;
                    using var read = await Client.GetAsync(url);
                    if (read.StatusCode != System.Net.HttpStatusCode.OK)
                    {
                        failures.Add($"#{i} was accepted ({status}), then GET {url} answered {(int)read.StatusCode}: {Shorten(await read.Content.ReadAsStringAsync())}; the input: {request.Describe()}");
                    }
                }
            }
            before = after;
        }

        figures.Line($"{count} inputs in {clock.Elapsed.TotalSeconds:F0} s; {refused} refused, {unchanged} of them with storage unchanged (table rows and ETags, jobs queue); " +
                     $"{refusedByWebServer} refused by the host's web server before any function (an encoded NUL in the path, a request line over 8 KiB)");
        figures.Line($"{writes} accepted inputs changed storage; each was read back through {ReadBackUrls(runIds).Count()} GETs ({readBacks} in all)");
        figures.Counts("answers by status", statuses);
        figures.Counts("inputs by function", perFunction);
        figures.Counts("inputs by body", perKind);
        if (keys is not null) figures.Counts("inputs by credential", perCredential);
        // Every answer is one its function declares beside its route, as the served OpenAPI document says.
        var contract = await OpenApiContract.ReadAsync(Client);
        var undeclared = new List<string>();
        foreach (var ((function, status), example) in observed.OrderBy(o => o.Key.Function, StringComparer.Ordinal).ThenBy(o => o.Key.Status))
        {
            if (!contract.Operations.ContainsKey(function)) undeclared.Add($"{function} is not in the OpenAPI document");
            else if (!contract.Statuses(function).Contains(status)) undeclared.Add($"{function} answered {status}, which it does not declare: {example}");
        }
        failures.InsertRange(0, undeclared);
        figures.Line($"statuses by function: {string.Join("; ", observed.Keys.GroupBy(k => k.Function).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {string.Join(",", g.Select(k => k.Status).Order())}"))}");
        figures.Line($"failures: {failures.Count}");
        foreach (var failure in failures.Take(25)) figures.Line($"  {failure}");

        Assert.All(functions, f => Assert.True(perFunction.GetValueOrDefault(f.Name) >= count / functions.Count, $"{f.Name} was not fuzzed"));
        Assert.Empty(failures);
    }

    private IEnumerable<string> ReadBackUrls(IReadOnlyList<string> runIds)
    {
        yield return $"/api/projects/{P}/runs?limit=100";
        yield return $"/api/projects/{P}/runs/latest";
        yield return $"/api/projects/{P}/config";
        yield return $"/api/costs/summary?projectId={P}";
        yield return $"/api/costs/top?projectId={P}";
        foreach (var runId in runIds)
        {
            yield return $"/api/projects/{P}/runs/{runId}";
            yield return $"/api/projects/{P}/runs/{runId}/events?limit=1000";
            yield return $"/api/projects/{P}/runs/{runId}/costs";
        }
    }

    /// <summary>Sends one input; returns its status and what is wrong with the answer (null when it is acceptable).</summary>
    private static async Task<(int Status, string? Verdict)> SendAsync(HttpClient client, FuzzRequest request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            using var message = request.ToMessage();
            using var response = await client.SendAsync(message, timeout.Token);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (status >= 500) return (status, $"answered {status}: {Shorten(body)}");
            if (status < 400) return (status, null);
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                return (status, $"answered {status} as '{response.Content.Headers.ContentType}', not problem+json: {Shorten(body)}");
            }
            var problem = JsonNode.Parse(body) as JsonObject;
            if (problem?["detail"] is not JsonValue detail || string.IsNullOrWhiteSpace((string?)detail) || (int?)problem["status"] != status)
            {
                return (status, $"answered {status} with a problem lacking its detail or status: {Shorten(body)}");
            }
            return (status, null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return (-1, $"no usable answer: {e.GetType().Name} {e.Message}");
        }
    }

    /// <summary>
    /// What Kestrel (the host's web server, as in Azure) refuses before any function runs, with an
    /// empty answer: a request target whose path decodes to a NUL character (400; with a large body
    /// the connection closes while the client is still sending it), and a request line over its
    /// 8 KiB limit (414). Nothing of the app's is involved.
    /// </summary>
    private static bool IsRefusedByWebServer(FuzzRequest request, int status) =>
        (status is 400 or -1 && request.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal))
        || (status == 414 && request.Url.Length > 8 * 1024 - 100);

    protected static string Shorten(string text) => text.Length > 400 ? text[..400] + "..." : text;

    private static void Add(SortedDictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    /// <summary>Every row of the host's table (keys and ETag, which changes on any write) and the number of jobs sent.</summary>
    protected async Task<string> SnapshotAsync(string? partition = null)
    {
        var rows = new List<string>();
        var filter = partition is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        await foreach (var row in App.Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey"]))
        {
            rows.Add($"{row.PartitionKey}|{row.RowKey}|{row.ETag}");
        }
        rows.Sort(StringComparer.Ordinal);
        if (partition is null) rows.Add($"jobs queue: {await App.Jobs.CountAsync()}");
        return string.Join("\n", rows);
    }

    protected static string Difference(string before, string after)
    {
        var old = before.Split('\n').ToHashSet(StringComparer.Ordinal);
        var now = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return $"gone: {string.Join(", ", old.Except(now).Take(5))}; new: {string.Join(", ", now.Except(old).Take(5))}";
    }

}

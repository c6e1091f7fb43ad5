using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Hosting;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// SLOW: runs ./publish.sh (once per test run, see <see cref="PublishedPackage"/>), then starts the
/// published linux-x64 executable as the Functions host would and talks to it as the host does.
/// Filter it out with <c>--filter Category!=Packaging</c> when iterating on something else.
/// </summary>
[Collection(PackagingTestGroup.Name)]
[Trait("Category", "Packaging")]
public sealed class PublishedPackageTests : LedgerTest
{
    // The in-process app only supplies the route table and the storage names (and removes them afterwards).
    public PublishedPackageTests() => App.With("RunLedger:ListenToQueue", "false");

    [Fact]
    public async Task PackageHoldsHostJsonTheGeneratedFunctionsAndAnExecutableHandler()
    {
        var package = await PublishedPackage.GetAsync();

        Assert.True(JsonNode.DeepEquals(RepoFiles.Json("host.json"), JsonNode.Parse(File.ReadAllText(Path.Combine(package, "host.json")))));

        var functions = FunctionManifest.Build(RepoFiles.Endpoints(App.Services));
        var folders = Directory.GetDirectories(package).Select(Path.GetFileName).Where(name => name != "app").Order(StringComparer.Ordinal);
        Assert.Equal(functions.Select(f => f.Name), folders);
        Assert.All(functions, f => Assert.True(
            JsonNode.DeepEquals(f.FunctionJson, JsonNode.Parse(File.ReadAllText(Path.Combine(package, f.Name, "function.json")))),
            $"{f.Name}/function.json differs from the route table"));

        var executable = Path.Combine(package, "app", "RunLedger");
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute), "app/RunLedger is not executable");
        }

        // The package is mounted read-only in Azure: the executable bit must be inside the zip.
        using var zip = await ZipFile.OpenReadAsync(PublishedPackage.ZipPath);
        var entry = zip.GetEntry("app/RunLedger") ?? throw new InvalidOperationException("app/RunLedger is not in the zip");
        var mode = (entry.ExternalAttributes >> 16) & 0x1FF;
        Assert.True((mode & 0x49) == 0x49, $"app/RunLedger has mode {Convert.ToString(mode, 8)} in the zip, not executable");
        Assert.NotNull(zip.GetEntry("host.json"));
        Assert.All(functions, f => Assert.NotNull(zip.GetEntry($"{f.Name}/function.json")));
    }

    [Fact]
    public async Task PublishedExecutableStartedLikeTheFunctionsHostServesProxiedHttpAndQueueInvocations()
    {
        var package = await PublishedPackage.GetAsync();
        var description = JsonNode.Parse(File.ReadAllText(Path.Combine(package, "host.json")))!["customHandler"]!["description"]!;
        var executable = Path.Combine(package, (string)description["defaultExecutablePath"]!);
        var workingDirectory = Path.Combine(package, (string)description["workingDirectory"]!);
        var azurite = await Azurite.GetAsync();

        await using var handler = await HandlerProcess.StartAsync(executable, workingDirectory, new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RunLedger__TableName"] = App.TableName,
            ["RunLedger__JobsQueue"] = App.JobsQueue,
            ["RunLedger__ProgressQueue"] = App.ProgressQueue,
            ["RunLedger__MaxPollingInterval"] = "00:00:00.100", // were the app's own listener on, it would poll fast
        });

        // An HTTP trigger: the host proxies the original request, /api prefix included.
        var started = await handler.Client.PostJsonAsync("/api/pipelines", """{"projectId":"p"}""");
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"{(int)started.StatusCode}: {await started.Content.ReadAsStringAsync()}\n{handler.Output}");
        var runId = (string)(await started.JsonAsync())["runId"]!;

        // A queue trigger: the host POSTs the message and its metadata (values JSON-encoded) to /{FunctionName}.
        var report = new JsonObject { ["projectId"] = "p", ["runId"] = runId, ["agent"] = "voice", ["message"] = "Generating" };
        var invocation = new JsonObject
        {
            ["Data"] = new JsonObject { ["message"] = report.ToJsonString() },
            ["Metadata"] = new JsonObject
            {
                ["DequeueCount"] = "1",
                ["Id"] = "\"abc\"",
                ["InsertionTime"] = DateTimeOffset.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
                ["sys"] = new JsonObject { ["MethodName"] = "AgentProgress" },
            },
        };
        var invoked = await handler.Client.PostJsonAsync("/AgentProgress", invocation.ToJsonString());
        var answer = await invoked.Content.ReadAsStringAsync();
        Assert.True(invoked.StatusCode == HttpStatusCode.OK, $"{(int)invoked.StatusCode}: {answer}\n{handler.Output}");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"Outputs":{},"Logs":[],"ReturnValue":null}"""), JsonNode.Parse(answer)), answer);

        var run = await (await handler.Client.GetAsync($"/api/projects/p/runs/{runId}")).JsonAsync();
        Assert.Equal("running", (string)run["status"]!);
        Assert.Equal("Generating", (string)run["message"]!);

        var events = await (await handler.Client.GetAsync($"/api/projects/p/runs/{runId}/events")).JsonAsync();
        Assert.Equal("abc", (string)Assert.Single(events["items"]!.AsArray())!["eventId"]!);

        // Under the host the queue trigger delivers messages: the app's own listener stays off.
        await App.Progress.SendMessageAsync(report.ToJsonString());
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(1, await App.Progress.CountAsync());

        // The ReadyToRun build still serves the OpenAPI document.
        Assert.Equal(HttpStatusCode.OK, (await handler.Client.GetAsync("/api/openapi.json")).StatusCode);
    }
}

using System.IO.Compression;
using System.Text.Json.Nodes;
using RunLedger.Hosting;
using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// SLOW: runs ./publish.sh once for the class, checks the zip Flex Consumption deploys, then runs
/// the published folder (not the test build) under the local Functions host against Azurite.
/// Filter it out with <c>--filter Category!=Packaging</c> when iterating on something else.
/// </summary>
[Collection(PackagingTestGroup.Name)]
[Trait("Category", "Packaging")]
public sealed class PublishedPackageTests(PublishedPackageTests.Host host) : LedgerTest(host), IClassFixture<PublishedPackageTests.Host>
{
    /// <summary>The ledger host over publish/package, with the package's own host.json.</summary>
    public sealed class Host : LedgerHost
    {
        protected override string WorkerDirectory => PublishedPackage.Directory;

        public override async Task InitializeAsync()
        {
            await PublishedPackage.PublishAsync();
            HostJson = Path.Combine(PublishedPackage.Directory, "host.json");
            await base.InitializeAsync();
        }
    }

    private static JsonNode ReadJson(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name) ?? throw new Xunit.Sdk.XunitException($"{name} is not at the root of the zip");
        using var stream = entry.Open();
        return JsonNode.Parse(stream)!;
    }

    [Fact]
    public void TheZipHoldsTheHostJsonTheWorkerAndTheMetadataOfEveryFunctionAtItsRoot()
    {
        using var zip = ZipFile.OpenRead(PublishedPackage.ZipPath);

        Assert.True(JsonNode.DeepEquals(RepoFiles.Json("host.json"), ReadJson(zip, "host.json")), "host.json in the zip differs from the repository's");
        Assert.NotNull(zip.GetEntry("RunLedger.dll"));
        var worker = ReadJson(zip, "worker.config.json")["description"]!;
        Assert.Equal("dotnet-isolated", (string)worker["language"]!);
        Assert.Equal("RunLedger.dll", (string)worker["defaultWorkerPath"]!);

        // Every function the code declares, and nothing else, as the host will index them.
        var expected = typeof(QueueProcessor).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static))
            .Select(m => m.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false).Cast<Microsoft.Azure.Functions.Worker.FunctionAttribute>().SingleOrDefault()?.Name)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        // HTTP, queue and timer functions alike (the callbacks' queue trigger and sweep timer among them).
        Assert.Contains(QueueProcessor.FunctionName, expected);
        Assert.Contains(RunLedger.Callbacks.CallbacksFunctions.SweepFunctionName, expected);
        Assert.Contains(RunLedger.Lifecycle.LifecycleFunctions.StaleSweepFunction, expected);
        Assert.Contains(RunLedger.Lifecycle.LifecycleFunctions.RetentionFunction, expected);
        var listed = ReadJson(zip, "functions.metadata").AsArray().Select(f => (string)f!["name"]!).Order(StringComparer.Ordinal);
        Assert.Equal(expected, listed);

        // The binding extensions the host loads (the queue and timer triggers') travel in the zip.
        var extensions = ReadJson(zip, "extensions.json")["extensions"]!.AsArray();
        Assert.NotEmpty(extensions);
        Assert.All(extensions, e =>
        {
            var path = Path.GetRelativePath(".", (string)e!["hintPath"]!).Replace('\\', '/');
            Assert.True(zip.GetEntry(path) is not null, $"{path}, named in extensions.json, is not in the zip");
        });

        // Local secrets and custom-handler leftovers stay out.
        Assert.DoesNotContain(zip.Entries, e => e.Name == "local.settings.json");
        Assert.DoesNotContain(zip.Entries, e => e.Name == "function.json");
    }

    [Fact]
    public async Task ThePublishedWorkerStartsARunAppliesQueuedProgressAndReportsTheStatus()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;

        // As an agent reports: JSON, base64-encoded, on the progress queue the trigger names by setting.
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}","agent":"voice","message":"Generating","progress":10}""");

        JsonObject run = [];
        await Eventually.HoldsAsync(async () =>
        {
            run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
            return (string?)run["status"] == "running";
        }, "the queued report to move the run to running");
        Assert.Equal("Generating", (string)run["message"]!);
        await App.ProgressDrainedAsync();
    }

    [Fact]
    public async Task ThePublishedWorkerServesTheDashboardsPagesAndEveryAsset()
    {
        // The pages travel inside RunLedger.dll (embedded), so the package needs no extra files.
        var page = await Client.GetAsync($"/api/dashboard/projects/{P}/runs/RUN_1");
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("run.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var asset in RunLedger.Dashboard.DashboardSite.AssetNames)
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await Client.GetAsync($"/api/dashboard/assets/{asset}")).StatusCode);
        }
    }
}

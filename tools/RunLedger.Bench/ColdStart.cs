using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FunctionsHost;
using FunctionsHost.Bench;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Runs;

namespace RunLedger.Bench;

/// <summary>
/// Cold start: worker launch → the first GET of a run answered 200, under the local Functions
/// host, next to an empty ASP.NET Core app started the same way (a process launch, then polling
/// until it answers), in alternating rounds.
/// </summary>
public static class ColdStart
{
    public static async Task<(List<double> Ledger, List<double> Empty)> RunAsync(string connectionString, string appDirectory, string hostJson, int rounds)
    {
        var names = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["RunLedger:TableName"] = "benchc" + Guid.NewGuid().ToString("N")[..12],
            ["RunLedger:JobsQueue"] = "benchc-jobs-" + Guid.NewGuid().ToString("N")[..12],
            ["RunLedger:ProgressQueue"] = "benchc-progress-" + Guid.NewGuid().ToString("N")[..12],
            // As in Azure: infrastructure made the table and queues, the worker does not.
            ["RunLedger:CreateStorageOnStart"] = "false",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(names).Build();
        var storage = LedgerStorage.Create(configuration);
        await storage.CreateIfNotExistsAsync(default);
        var starter = new PipelineStarter(new RunStore(storage), storage,
            Options.Create(configuration.GetSection(LedgerOptions.Section).Get<LedgerOptions>()!), TimeProvider.System, NullLogger<PipelineStarter>.Instance);
        await starter.StartAsync(StartRequest.Parse(JsonNode.Parse("""{"projectId":"bench","runId":"RUN_COLD"}""")!.AsObject()), null, default);

        using var client = new HttpClient();
        var ledger = new List<double>();
        var empty = new List<double>();
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                await using (var host = FunctionsHostApp.Create(new FunctionsHostOptions
                {
                    AppDirectory = appDirectory,
                    HostJsonPath = hostJson,
                    Settings = names.ToDictionary(n => n.Key.Replace(":", "__", StringComparison.Ordinal), n => n.Value),
                    Port = 0,
                    ConfigureLogging = logging => logging.ClearProviders(),
                }))
                {
                    await host.StartAsync();
                    while (host.Supervisor.LaunchTimestamp == 0) await Task.Delay(1);
                    var run = new Uri(host.BaseAddress, "api/projects/bench/runs/RUN_COLD");
                    ledger.Add((await FunctionsHost.Bench.Measure.FirstOkAsync(client, run, host.Supervisor.LaunchTimestamp)).TotalMilliseconds);
                }

                var port = FreePort();
                var started = Stopwatch.GetTimestamp();
                using var process = Process.Start(new ProcessStartInfo("dotnet")
                {
                    ArgumentList = { typeof(EmptyApp).Assembly.Location, "--empty-app", port.ToString(CultureInfo.InvariantCulture) },
                    RedirectStandardOutput = true,
                })!;
                empty.Add((await FunctionsHost.Bench.Measure.FirstOkAsync(client, new Uri($"http://127.0.0.1:{port}/api/ping"), started)).TotalMilliseconds);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            await storage.Table.DeleteAsync();
            foreach (var queue in new[] { storage.Jobs, storage.Progress, storage.ProgressPoison }) await queue.DeleteIfExistsAsync();
        }
        return (ledger, empty);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

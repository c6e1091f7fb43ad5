using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FunctionsHost;
using FunctionsHost.Bench;
using Microsoft.Extensions.Logging;

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
        // As in Azure: infrastructure made the table and queues, the worker does not.
        await using var ledger = await BenchLedger.CreateAsync(connectionString, "benchc", ("RunLedger:CreateStorageOnStart", "false"));
        await ledger.StartRunAsync("bench", "RUN_COLD");

        using var client = new HttpClient();
        var cold = new List<double>();
        var empty = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            await using (var host = FunctionsHostApp.Create(new FunctionsHostOptions
            {
                AppDirectory = appDirectory,
                HostJsonPath = hostJson,
                Settings = ledger.AppSettings,
                Port = 0,
                ConfigureLogging = logging => logging.ClearProviders(),
            }))
            {
                await host.StartAsync();
                while (host.Supervisor.LaunchTimestamp == 0) await Task.Delay(1);
                var run = new Uri(host.BaseAddress, "api/projects/bench/runs/RUN_COLD");
                cold.Add((await FunctionsHost.Bench.Measure.FirstOkAsync(client, run, host.Supervisor.LaunchTimestamp)).TotalMilliseconds);
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
        return (cold, empty);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

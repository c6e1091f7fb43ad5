using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FunctionsHost.Configuration;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Worker;

/// <summary>Starts <c>dotnet App.dll</c> with the arguments and environment the Azure host gives an isolated worker.</summary>
internal static class WorkerProcess
{
    public static Process Start(string appDirectory, int grpcPort, string workerId, AppSettings settings, ILogger consoleLogger)
    {
        var assembly = WorkerAssembly(appDirectory);
        var requestId = Guid.NewGuid().ToString();
        var uri = $"http://127.0.0.1:{grpcPort.ToString(CultureInfo.InvariantCulture)}/";
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = appDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(assembly);
        // The legacy arguments first (older workers read them), then the ones Worker 2.x requires.
        foreach (var argument in new[]
        {
            "--host", "127.0.0.1", "--port", grpcPort.ToString(CultureInfo.InvariantCulture),
            "--workerId", workerId, "--requestId", requestId, "--grpcMaxMessageLength", "2147483647",
            "--functions-uri", uri, "--functions-worker-id", workerId, "--functions-request-id", requestId,
            "--functions-grpc-max-message-length", "2147483647",
        })
        {
            psi.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in settings.All)
        {
            psi.Environment[key] = value;
        }
        psi.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        psi.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory;
        psi.Environment["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory;
        psi.Environment["AZURE_FUNCTIONS_ENVIRONMENT"] = settings.EnvironmentName;
        // The worker picks its own HTTP port; an inherited ASPNETCORE_URLS would collide.
        psi.Environment.Remove("ASPNETCORE_URLS");
        psi.Environment.Remove("ASPNETCORE_HTTP_PORTS");

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) WorkerLog.Console(consoleLogger, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) WorkerLog.Console(consoleLogger, e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The worker's entry assembly, as named by the worker.config.json the Worker SDK writes.</summary>
    public static string WorkerAssembly(string appDirectory)
    {
        var config = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(config))
        {
            throw new InvalidOperationException($"{config} not found: --app must be an isolated worker's build or publish folder.");
        }
        using var document = JsonDocument.Parse(File.ReadAllText(config));
        var path = document.RootElement.GetProperty("description").GetProperty("defaultWorkerPath").GetString()!;
        return Path.Combine(appDirectory, path);
    }
}

using System.Globalization;
using FunctionsHost;

// dotnet FunctionsHost.dll --app <worker output folder> [--host-json <path>] [--settings <local.settings.json>] [--port 7071]
string? app = null, hostJson = null, settings = null;
var port = 7071;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--app": app = args[i + 1]; break;
        case "--host-json": hostJson = args[i + 1]; break;
        case "--settings": settings = args[i + 1]; break;
        case "--port": port = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: return Usage($"Unknown option {args[i]}.");
    }
}
if (app is null)
{
    return Usage("--app is required.");
}
if (settings is null && File.Exists(Path.Combine(app, "local.settings.json")))
{
    settings = Path.Combine(app, "local.settings.json");
}

await using var host = FunctionsHostApp.Create(new FunctionsHostOptions
{
    AppDirectory = app,
    HostJsonPath = hostJson,
    SettingsPath = settings,
    Port = port,
});
// Ctrl+C stops the host: the worker gets WorkerTerminate and exits.
await host.StartAsync();
var shutdown = host.WaitForShutdownAsync();
// A worker that never starts must not keep Ctrl+C from stopping the host.
var ready = host.WaitForWorkerAsync();
if (await Task.WhenAny(ready, shutdown) == ready)
{
    Console.WriteLine();
    Console.WriteLine(FunctionsHost.Functions.FunctionCatalog.Format(await ready, host.BaseAddress, host.Endpoints.RoutePrefix));
}
await shutdown;
return 0;

static int Usage(string error)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine("Usage: FunctionsHost --app <worker build or publish folder> [--host-json <path>] [--settings <local.settings.json>] [--port 7071]");
    return 2;
}

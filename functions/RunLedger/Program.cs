using Microsoft.Azure.Functions.Worker.Builder;
using RunLedger.Hosting;
using RunLedger.Http;
using RunLedger.Telemetry;

// An isolated-worker Functions app with ASP.NET Core integration: the Functions host (Azure,
// `func start`, or tools/FunctionsHost locally) owns triggers and routing; the app checks
// credentials itself (Access/), so the same rules hold under every host; this process
// runs the functions in the feature folders.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<RunScopeMiddleware>();
builder.UseMiddleware<ProblemMiddleware>();
builder.UseMiddleware<RunLedger.Access.AccessMiddleware>();
// ASP.NET Core's request logs carry the full URL, and with it a `?code=` function key: keep them
// off whatever the configuration says.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddRunLedger(builder.Configuration);
builder.AddLedgerTelemetry();
builder.Build().Run();

using Microsoft.Azure.Functions.Worker.Builder;
using RunLedger.Hosting;
using RunLedger.Http;
using RunLedger.Telemetry;

// An isolated-worker Functions app with ASP.NET Core integration: the Functions host (Azure,
// `func start`, or tools/FunctionsHost locally) owns triggers, routing and keys; this process
// runs the functions in the feature folders.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<RunScopeMiddleware>();
builder.UseMiddleware<ProblemMiddleware>();
// ASP.NET Core's request logs carry the full URL, and with it a `?code=` function key: keep them
// off whatever the configuration says.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddRunLedger(builder.Configuration);
builder.AddLedgerTelemetry();
builder.Build().Run();

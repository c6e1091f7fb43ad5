using RunLedger.Costs;
using RunLedger.Hosting;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Projects;
using RunLedger.Runs;
using RunLedger.Telemetry;

var builder = WebApplication.CreateBuilder(args);

// Under the Functions host (custom handler) the host names the port and calls 127.0.0.1;
// run standalone, the app serves the same API on the Functions default port.
if (Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT") is { Length: > 0 } hostPort)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{hostPort}");
}
else if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://localhost:7071");
}

builder.Services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.Section).ValidateOnStart();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<LedgerOptions>, LedgerOptionsValidator>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddLedgerStorage(builder.Configuration);
builder.Services.AddHostedService<StorageInitializer>();
builder.Services.AddSingleton<RunStore>();
builder.Services.AddSingleton<PipelineStarter>();
builder.Services.AddSingleton<RunSignals>();
builder.Services.AddSingleton<EventStore>();
builder.Services.AddSingleton<DeadLetters>();
builder.Services.AddSingleton<ProgressHandler>();
builder.Services.AddSingleton<QueueProcessor>();
builder.Services.AddSingleton(sp => PricingTable.Load(
    Path.Combine(AppContext.BaseDirectory, "Costs", "pricing.json"),
    sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LedgerOptions>>().Value.PricingFile));
builder.Services.AddSingleton<CostLedger>();
builder.Services.AddSingleton<CostProjection>();
var underFunctionsHost = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"));
if (!underFunctionsHost && builder.Configuration.GetValue($"{LedgerOptions.Section}:ListenToQueue", true))
{
    builder.Services.AddHostedService<QueueListener>();
}
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemHandler>();
builder.Services.AddOpenApi();
builder.AddLedgerTelemetry();

var app = builder.Build();

app.UseMiddleware<RequestScopeMiddleware>();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<FunctionKeyMiddleware>();

// The Functions host treats any answer on "/" as "the handler is ready".
app.MapGet("/", () => TypedResults.Ok(new { service = "run-ledger" })).ExcludeFromDescription().AllowAnonymous();
app.MapGet("/api/health", () => TypedResults.Ok(new { status = "healthy" })).WithName("Health").AllowAnonymous();
app.MapOpenApi("/api/openapi.json").WithName("GetOpenApiDocument");
app.MapPipelines();
app.MapProjectConfig();
app.MapRuns();
app.MapProgress();
app.MapCosts();
app.MapHostInvocations();

// publish.sh: `RunLedger --emit-functions DIR` writes one function.json per function, then exits.
if (FunctionManifest.TryEmit(app, args))
{
    return;
}

app.Run();

public partial class Program;

using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Hosting;
using RunLedger.Ledger;

namespace RunLedger.Tests.Support;

/// <summary>
/// The ledger's services as the worker registers them (<see cref="LedgerServices.AddRunLedger"/>),
/// without a Functions host, against the shared Azurite with their own table and queues: for
/// tests that drive handlers directly, count storage requests or inject storage faults.
/// </summary>
public sealed class LedgerComponents : IAsyncLifetime
{
    private ServiceProvider? _services;
    private readonly Dictionary<string, string?> _settings = new();

    public string TableName { get; } = Names.Table("runs");
    public string JobsQueue { get; } = Names.Queue("jobs");
    public string ProgressQueue { get; } = Names.Queue("progress");
    public string CallbacksQueue { get; } = Names.Queue("callbacks");

    /// <summary>Service changes (a clock, a pipeline policy), applied after the app's registrations.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>The clock the app reads instead of the system's (a <see cref="FixedClock"/>, for tests that move time).</summary>
    public TimeProvider? Clock { get; set; }

    private readonly List<(HttpPipelinePolicy Policy, HttpPipelinePosition Position)> _storagePolicies = [];

    /// <summary>Adds <paramref name="policy"/> to every storage client the app registers: to count requests or inject faults.</summary>
    public LedgerComponents WithStoragePolicy(HttpPipelinePolicy policy, HttpPipelinePosition position = HttpPipelinePosition.PerCall)
    {
        _storagePolicies.Add((policy, position));
        return this;
    }

    private void Configure(IServiceCollection services)
    {
        if (Clock is not null) services.AddSingleton(Clock);
        if (_storagePolicies.Count > 0)
        {
            services.AddAzureClients(clients => clients.ConfigureDefaults(options =>
            {
                foreach (var (policy, position) in _storagePolicies) options.AddPolicy(policy, position);
            }));
        }
        ConfigureServices?.Invoke(services);
    }

    public IServiceProvider Services => _services ??= Build();

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public LedgerStorage Storage => Get<LedgerStorage>();

    /// <summary>A function class of the app, built from these services, to call its methods directly.</summary>
    public T Functions<T>() where T : class => ActivatorUtilities.CreateInstance<T>(Services);

    /// <summary>The JSON body of a function's result (200 or 202 with a value).</summary>
    public static async Task<System.Text.Json.Nodes.JsonObject> BodyAsync(Task<Microsoft.AspNetCore.Http.IResult> result) =>
        (System.Text.Json.Nodes.JsonObject)((Microsoft.AspNetCore.Http.IValueHttpResult)await result).Value!;

    /// <summary>A request for calling an HTTP function directly.</summary>
    public static Microsoft.AspNetCore.Http.HttpRequest Request(string? query = null, string? body = null, params (string Name, string Value)[] headers)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        // In process there is no access middleware: the caller is an admin, as in an open Development app.
        context.Features.Set(RunLedger.Access.Caller.Admin);
        if (query is not null) context.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString(query);
        if (body is not null)
        {
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body));
        }
        foreach (var (name, value) in headers) context.Request.Headers[name] = value;
        return context.Request;
    }

    public LedgerComponents With(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    public async Task InitializeAsync() => _settings["AzureWebJobsStorage"] = (await Azurite.GetAsync()).ConnectionString;

    private ServiceProvider Build()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RunLedger:TableName"] = TableName,
            ["RunLedger:JobsQueue"] = JobsQueue,
            ["RunLedger:ProgressQueue"] = ProgressQueue,
            ["RunLedger:CallbacksQueue"] = CallbacksQueue,
        }).AddInMemoryCollection(_settings).Build();
        var provider = LedgerServices.Build(configuration, Configure);
        provider.GetRequiredService<LedgerStorage>().CreateIfNotExistsAsync(default).GetAwaiter().GetResult();
        return provider;
    }

    public async Task DisposeAsync()
    {
        if (_services is null) return;
        await _services.GetRequiredService<LedgerStorage>().DeleteAsync();
        await _services.DisposeAsync();
    }
}

using Microsoft.Extensions.Options;
using RunLedger.Costs;
using RunLedger.Ledger;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;

namespace RunLedger.Hosting;

public static class LedgerServices
{
    /// <summary>
    /// The ledger's services outside a Functions host (tools, tests): the same <see cref="AddRunLedger"/>
    /// over the given settings (<c>AzureWebJobsStorage</c>, <c>RunLedger:TableName</c>, ...).
    /// </summary>
    public static ServiceProvider Build(IConfiguration configuration, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(configuration);
        services.AddRunLedger(configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Everything the ledger's functions use, on any host: the Functions worker (Program.cs),
    /// and tests and tools that drive the handlers directly.
    /// </summary>
    /// <summary>The ledger's storage outside the app (tools, tests), through the app's own registration.</summary>
    public static Ledger.LedgerStorage Storage(IConfiguration configuration, Action<IServiceCollection>? configure = null) =>
        Build(configuration, configure).GetRequiredService<Ledger.LedgerStorage>();

    public static IServiceCollection AddRunLedger(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LedgerOptions>().Bind(configuration.GetSection(LedgerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LedgerOptions>, LedgerOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddLedgerStorage(configuration);
        services.AddHostedService<StorageInitializer>();
        services.AddSingleton<Access.Credentials>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<ProjectRegistry>();
        services.AddSingleton<RunPatcher>();
        services.AddSingleton<PipelineStarter>();
        services.AddSingleton<RunSignals>();
        services.AddSingleton<LiveRuns>();
        services.AddSingleton<EventStore>();
        services.AddSingleton<DeadLetters>();
        services.AddSingleton<ProgressHandler>();
        services.AddSingleton<QueueProcessor>();
        services.AddSingleton(_ => HostQueueSettings.Load(Path.Combine(AppContext.BaseDirectory, "host.json")));
        services.AddSingleton(sp => PricingTable.Load(
            Path.Combine(AppContext.BaseDirectory, "Costs", "pricing.json"),
            sp.GetRequiredService<IOptions<LedgerOptions>>().Value.PricingFile));
        services.AddSingleton<PriceBook>();
        services.AddSingleton<CostProjection>();
        services.AddSingleton<Dashboard.RunLinks>();
        services.AddSingleton<Callbacks.CallbackEnvironment>();
        services.AddSingleton<Callbacks.CallbackOutbox>();
        services.AddSingleton<IRunOutbox>(provider => provider.GetRequiredService<Callbacks.CallbackOutbox>());
        services.AddSingleton<Callbacks.IHostResolver, Callbacks.DnsResolver>();
        services.AddSingleton<Callbacks.CallbackSender>();
        services.AddSingleton<Callbacks.CallbackDelivery>();
        services.AddSingleton<Budgets.BudgetLedger>();
        services.AddSingleton<Budgets.BudgetView>();
        services.AddSingleton<Callbacks.IBudgetView>(provider => provider.GetRequiredService<Budgets.BudgetView>());
        services.AddSingleton<IProjectBudget>(provider => provider.GetRequiredService<Budgets.BudgetView>());
        services.AddSingleton<Projects.ProjectConfigs>();
        services.AddSingleton<Billing.Statements>();
        services.AddSingleton<Billing.Repricing>();
        services.AddSingleton<Lifecycle.RunCanceller>();
        services.AddSingleton<Lifecycle.StaleSweep>();
        services.AddSingleton<Lifecycle.RetentionPurge>();
        return services;
    }
}

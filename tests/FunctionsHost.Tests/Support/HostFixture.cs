using System.Reflection;
using FunctionsHost.Testing;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Support;

/// <summary>
/// The fixture Functions app under FunctionsHost against the shared Azurite, with its own queue
/// names, started once per test collection.
/// </summary>
public class HostFixture : IAsyncLifetime
{
    private FunctionsHostHarness? harness;

    public FunctionsHostHarness Host => harness ?? throw new InvalidOperationException("The host is not started.");

    public string WorkQueue { get; } = Names.Queue("work");

    public string BenchQueue { get; } = Names.Queue("bench");

    /// <summary>Extra settings a derived fixture adds (e.g. function keys).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> MoreSettings => [];

    public static string AppDirectory { get; } = typeof(HostFixture).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FixtureAppDirectory").Value!;

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.GetAsync();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            // As Core Tools run an app; AzureDefaultsHostFixture leaves it unset, as Azure does.
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["WorkQueue"] = WorkQueue,
            ["BenchQueue"] = BenchQueue,
            ["TickSchedule"] = "*/2 * * * * *",
        };
        foreach (var (key, value) in MoreSettings)
        {
            settings[key] = value;
        }
        harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions { AppDirectory = AppDirectory, Settings = settings });
    }

    public async Task DisposeAsync()
    {
        if (harness is not null)
        {
            await harness.DisposeAsync();
        }
    }
}

/// <summary>A host of its own, with function keys configured, for tests that kill its worker or need keys.</summary>
public sealed class KeyedHostFixture : HostFixture
{
    public const string Key = "test-key-1";

    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [new(FunctionKeysSetting, $"{Key}, test-key-2")];

    private const string FunctionKeysSetting = FunctionsHost.Http.FunctionKeys.Setting;
}

/// <summary>
/// A host left at Azure's defaults: no <c>AZURE_FUNCTIONS_ENVIRONMENT</c> (so Production), no function keys
/// listed (so nothing but anonymous functions passes), and a small request body limit.
/// </summary>
public sealed class AzureDefaultsHostFixture : HostFixture
{
    public const int BodyLimit = 1024;

    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [new("AZURE_FUNCTIONS_ENVIRONMENT", null), new("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT", BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

[CollectionDefinition(Name)]
public sealed class AzureDefaultsHostGroup : ICollectionFixture<AzureDefaultsHostFixture>
{
    public const string Name = "Azure defaults host";
}

[CollectionDefinition(Name)]
public sealed class HttpHostGroup : ICollectionFixture<HostFixture>
{
    public const string Name = "HTTP host";
}

[CollectionDefinition(Name)]
public sealed class TriggerHostGroup : ICollectionFixture<HostFixture>
{
    public const string Name = "Trigger host";
}

[CollectionDefinition(Name)]
public sealed class KeyedHostGroup : ICollectionFixture<KeyedHostFixture>
{
    public const string Name = "Keyed host";
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RunLedger.Telemetry;

namespace RunLedger.Tests.Telemetry;

/// <summary>Telemetry leaves the process only when a destination is configured.</summary>
public sealed class TelemetrySetupTests
{
    /// <summary>The worker's telemetry set-up on a host builder with exactly these settings.</summary>
    private static IServiceProvider Build(string appInsights, string otlp)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = appInsights,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp,
        });
        builder.AddLedgerTelemetry();
        return builder.Build().Services;
    }

    [Fact]
    public void NoTelemetryIsExportedWithoutADestination()
    {
        var services = Build(appInsights: "", otlp: "");

        Assert.Null(services.GetService<TracerProvider>());
        Assert.Null(services.GetService<MeterProvider>());
    }

    [Fact]
    public void WithAnOtlpEndpointTracesAndMetricsAreSetUp()
    {
        // Nothing listens there: export would fail quietly in the background.
        var services = Build(appInsights: "", otlp: "http://127.0.0.1:9");

        Assert.NotNull(services.GetService<TracerProvider>());
        Assert.NotNull(services.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("Authorization=Key", false)]
    [InlineData("Authorization=AAD", true)]
    [InlineData("Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000001", true)]
    public void AppInsightsSignsInWithTheIdentityTheAuthenticationStringNames(string? authenticationString, bool usesEntra)
    {
        Assert.Equal(usesEntra, TelemetrySetup.CredentialFor(authenticationString) is not null);
    }
}

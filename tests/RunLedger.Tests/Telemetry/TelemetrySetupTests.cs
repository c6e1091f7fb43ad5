using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RunLedger.Telemetry;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Telemetry;

/// <summary>Telemetry leaves the process only when a destination is configured.</summary>
public sealed class TelemetrySetupTests
{
    private static async Task WithAppAsync(Func<LedgerApp, LedgerApp> configure, Func<LedgerApp, Task> test)
    {
        var app = configure(new LedgerApp().With("RunLedger:ListenToQueue", "false"));
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            await test(app);
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
        }
    }

    [Fact]
    public Task NoTelemetryIsExportedWithoutADestination() => WithAppAsync(
        // Empty settings override whatever the test run's environment holds.
        app => app.With("APPLICATIONINSIGHTS_CONNECTION_STRING", "").With("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        app =>
        {
            Assert.Null(app.Services.GetService<TracerProvider>());
            Assert.Null(app.Services.GetService<MeterProvider>());
            return Task.CompletedTask;
        });

    [Fact]
    public Task WithAnOtlpEndpointTracesAndMetricsAreSetUpAndTheAppStillServes() => WithAppAsync(
        // Nothing listens there: export fails quietly in the background, requests do not.
        app => app.With("APPLICATIONINSIGHTS_CONNECTION_STRING", "").With("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        async app =>
        {
            Assert.NotNull(app.Services.GetService<TracerProvider>());
            Assert.NotNull(app.Services.GetService<MeterProvider>());
            using var client = app.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/health")).StatusCode);
        });

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

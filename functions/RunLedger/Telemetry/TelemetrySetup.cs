using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RunLedger.Telemetry;

/// <summary>
/// Logs go to the Functions host (which forwards them to its console and Application Insights).
/// Traces, metrics and logs are also exported by the worker only when a destination is set:
/// Application Insights (<c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>) and/or any OTLP collector
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>). With neither, no exporter is registered and nothing leaves the process.
/// </summary>
public static class TelemetrySetup
{
    public const string ServiceName = "run-ledger";

    public static IHostApplicationBuilder AddLedgerTelemetry(this IHostApplicationBuilder builder)
    {
        var appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var otlpEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var toAppInsights = !string.IsNullOrWhiteSpace(appInsights);
        var toOtlp = !string.IsNullOrWhiteSpace(otlpEndpoint);
        if (!toAppInsights && !toOtlp)
        {
            return builder;
        }

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            // The worker's own integration: invocation spans and their correlation with the host's.
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing => tracing.AddSource(LedgerTelemetry.Name))
            .WithMetrics(metrics => metrics.AddMeter(LedgerTelemetry.Name))
            .WithLogging(configureBuilder: null, configureOptions: options =>
            {
                options.IncludeScopes = true;
                options.IncludeFormattedMessage = true;
            });

        if (toAppInsights)
        {
            // The Application Insights resource in infra/ accepts Entra ID only (local auth off);
            // the same setting the Functions host reads says which identity to use.
            var credential = CredentialFor(builder.Configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
            otel.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = appInsights;
                options.Credential = credential;
            });
        }

        if (toOtlp)
        {
            // Reads OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS itself.
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// <c>Authorization=AAD;ClientId=…</c> → that user-assigned managed identity; <c>Authorization=AAD</c>
    /// → the system-assigned one; empty → none (the connection string's key is used).
    /// </summary>
    public static TokenCredential? CredentialFor(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString))
        {
            return null;
        }

        var parts = authenticationString
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);
        if (!string.Equals(parts.GetValueOrDefault("Authorization"), "AAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}

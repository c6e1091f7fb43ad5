using System.Diagnostics;
using System.Reflection;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The infrastructure templates compile and pass the Bicep linter with the real compiler (from
/// its NuGet package), so a typo in a resource type or property never waits for a deployment.
/// </summary>
public sealed class BicepTemplateTests
{
    private static string? BicepPath => typeof(BicepTemplateTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .SingleOrDefault(a => a.Key == "BicepPath")?.Value is { Length: > 0 } path
            ? path.Replace('\\', '/')
            : null;

    [Fact]
    public async Task MainTemplateBuildsWithoutErrorsOrWarnings()
    {
        Assert.True(BicepPath is not null && File.Exists(BicepPath),
            $"The Bicep compiler package was not restored (BicepPath = '{BicepPath}'); it is referenced for linux-x64.");
        var psi = new ProcessStartInfo(BicepPath!)
        {
            ArgumentList = { "build", Path.Combine(Azurite.RepoRoot(), "infra", "main.bicep"), "--stdout" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The compiler checks for newer versions and types online unless told not to.
        psi.Environment["BICEP_TRACING_ENABLED"] = "false";
        using var bicep = Process.Start(psi)!;
        var stdout = bicep.StandardOutput.ReadToEndAsync();
        var stderr = await bicep.StandardError.ReadToEndAsync();
        await bicep.WaitForExitAsync();

        Assert.True(bicep.ExitCode == 0, $"bicep build failed ({bicep.ExitCode}):\n{stderr}");
        Assert.True(stderr.Trim().Length == 0, $"bicep build reported diagnostics:\n{stderr}");
        Assert.Contains("Microsoft.Web/sites", await stdout, StringComparison.Ordinal);
    }
}

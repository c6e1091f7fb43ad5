using System.Diagnostics;
using System.Text;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// SLOW (about a minute): runs ./publish.sh and hands back what it wrote. When the repository
/// has no local.settings.json, one is copied from the sample for the publish and removed
/// afterwards, so a package that picked it up would be caught.
/// </summary>
public static class PublishedPackage
{
    public static string Directory => RepoFiles.FullPath(Path.Combine("publish", "package"));

    public static string ZipPath => RepoFiles.FullPath(Path.Combine("publish", "runledger.zip"));

    public static async Task PublishAsync()
    {
        var localSettings = RepoFiles.FullPath("local.settings.json");
        var placed = !File.Exists(localSettings);
        if (placed) File.Copy(RepoFiles.FullPath("local.settings.sample.json"), localSettings);
        try
        {
            await RunAsync();
        }
        finally
        {
            if (placed) File.Delete(localSettings);
        }
    }

    private static async Task RunAsync()
    {
        var psi = new ProcessStartInfo("bash")
        {
            ArgumentList = { RepoFiles.FullPath("publish.sh") },
            WorkingDirectory = RepoFiles.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var output = new StringBuilder();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("publish.sh did not start.");
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"publish.sh took over 10 minutes:\n{output}");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"publish.sh exited with {process.ExitCode}:\n{output}");
    }
}

/// <summary>
/// The packaging tests publish (CPU-heavy) and start a second worker; they run alone, so they
/// neither slow the parallel tests nor are slowed by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingTestGroup
{
    public const string Name = "Packaging (slow: runs publish.sh)";
}

using System.Diagnostics;
using System.Text;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// SLOW (about a minute): runs ./publish.sh once per test run, the first time a test asks for it,
/// and hands every caller the same publish/package folder.
/// </summary>
public static class PublishedPackage
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> GetAsync() => Published.Value;

    public static string ZipPath => Path.Combine(RepoFiles.Root, "publish", "runledger.zip");

    private static async Task<string> PublishAsync()
    {
        var root = RepoFiles.Root;
        var psi = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(root, "publish.sh") },
            WorkingDirectory = root,
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

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"publish.sh exited with {process.ExitCode}:\n{output}");
        }

        return Path.Combine(root, "publish", "package");
    }
}

/// <summary>
/// The packaging test publishes (CPU-heavy) and starts a second process; it runs alone, after the
/// parallel tests, so it neither slows them nor is slowed by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingTestGroup
{
    public const string Name = "Packaging (slow: runs publish.sh)";
}

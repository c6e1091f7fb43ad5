using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RunLedger.Tests.Support;

/// <summary>
/// One Azurite process for the whole test run, on free ports, in memory. Tests isolate
/// themselves by using uniquely named tables and queues (see <see cref="Names"/>).
/// </summary>
public static class Azurite
{
    public const string AccountName = "devstoreaccount1";

    // Azurite's well-known development key (published in its README), not a secret.
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lazy<Task<Endpoints>> Started = new(StartAsync);

    public sealed record Endpoints(int QueuePort, int TablePort)
    {
        public Uri QueueUri => new($"http://127.0.0.1:{QueuePort}/{AccountName}");
        public Uri TableUri => new($"http://127.0.0.1:{TablePort}/{AccountName}");

        public string ConnectionString =>
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
            $"QueueEndpoint={QueueUri};TableEndpoint={TableUri};";
    }

    public static Task<Endpoints> GetAsync() => Started.Value;

    /// <summary>Carried by a test run's Azurite and its watchdog: the process id of the test run that started them.</summary>
    private const string OwnerVariable = "RUNLEDGER_TEST_AZURITE_OWNER";

    /// <summary>
    /// Kills what earlier test runs left behind: processes carrying <see cref="OwnerVariable"/> whose
    /// owner is gone (a test host killed outright takes its watchdog with it, and a stopped watchdog
    /// never gets to end its Azurite). Linux only (/proc); elsewhere nothing.
    /// </summary>
    private static void ReapOrphans()
    {
        if (!Directory.Exists("/proc/self")) return;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId) continue;
            string environment;
            try
            {
                environment = File.ReadAllText(Path.Combine(directory, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var owner = environment.Split('\0').FirstOrDefault(v => v.StartsWith(OwnerVariable + "=", StringComparison.Ordinal));
            if (owner is null || !int.TryParse(owner[(OwnerVariable.Length + 1)..], out var ownerPid)) continue;
            if (Directory.Exists($"/proc/{ownerPid}")) continue;
            try
            {
                using var orphan = Process.GetProcessById(pid);
                orphan.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already, or not ours to kill.
            }
        }
    }

    private static async Task<Endpoints> StartAsync()
    {
        var root = RepoRoot();
        var bin = Path.Combine(root, "node_modules", ".bin", "azurite");
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"Azurite is not installed at {bin}; run ./test.sh (it runs npm ci).");
        }

        ReapOrphans();
        int blobPort = FreePort(), queuePort = FreePort(), tablePort = FreePort();
        // Through a watchdog shell: Azurite is killed when this test process is gone, however it ended
        // (vstest ends its test host without running ProcessExit handlers, which left one Azurite per run behind).
        // In a session of its own (setsid) where there is one: with no terminal, job control can never
        // stop the watchdog (watchdogs stopped that way, state T, had left their Azurites behind).
        var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;
        var psi = new ProcessStartInfo(setsid ?? "/bin/sh")
        {
            ArgumentList =
            {
                "-c",
                "\"$0\" \"$@\" & child=$!; trap 'kill -9 $child 2>/dev/null' EXIT; " +
                $"while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done",
                bin,
                "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            // Never the terminal's stdin: a shell in the background that shares the terminal can be
            // stopped by job control (seen locally: watchdogs in state T, their Azurites left behind).
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        if (setsid is not null) psi.ArgumentList.Insert(0, "/bin/sh");
        psi.Environment[OwnerVariable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("Azurite did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        };

        var deadline = DateTime.UtcNow.AddSeconds(120); // a loaded machine has been seen to take 40 s
        while (!(await IsListening(queuePort) && await IsListening(tablePort)))
        {
            if (process.HasExited) throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}.");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Azurite did not listen within 120 s.");
            await Task.Delay(100);
        }
        return new Endpoints(queuePort, tablePort);
    }

    private static async Task<bool> IsListening(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RunFunctions.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("RunFunctions.sln not found above the test binaries.");
    }
}

/// <summary>Unique storage names, so tests can run in parallel and never see each other's data.</summary>
public static class Names
{
    public static string Table(string prefix = "t") => prefix + Guid.NewGuid().ToString("N")[..20];

    public static string Queue(string prefix = "q") => prefix + "-" + Guid.NewGuid().ToString("N")[..20];
}

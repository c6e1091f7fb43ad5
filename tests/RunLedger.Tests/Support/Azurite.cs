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

    private static async Task<Endpoints> StartAsync()
    {
        var root = RepoRoot();
        var bin = Path.Combine(root, "node_modules", ".bin", "azurite");
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"Azurite is not installed at {bin}; run ./test.sh (it runs npm ci).");
        }

        int blobPort = FreePort(), queuePort = FreePort(), tablePort = FreePort();
        // Through a watchdog shell: Azurite is killed when this test process is gone, however it ended
        // (vstest ends its test host without running ProcessExit handlers, which left one Azurite per run behind).
        var psi = new ProcessStartInfo("/bin/sh")
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

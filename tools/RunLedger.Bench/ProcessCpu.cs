using System.Globalization;

namespace RunLedger.Bench;

/// <summary>
/// CPU time a process has used (user + system, from <c>/proc/{pid}/stat</c>, so Linux only), to
/// show per report where the time goes: the client, the local host, the worker, Azurite.
/// </summary>
public static class ProcessCpu
{
    /// <summary>Clock ticks per second of <c>/proc</c>'s times (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The CPU time process <paramref name="pid"/> has used so far; zero when it cannot be read.</summary>
    public static TimeSpan Of(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field, stime the 15th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>The child processes of <paramref name="parent"/> (the local host's worker, for one).</summary>
    public static List<int> Children(int parent)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent) children.Add(pid);
            }
            catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
            {
                // The process ended meanwhile.
            }
        }
        return children;
    }

    /// <summary>The Azurite serving tables on the connection string's table port (its command line names the port), if found.</summary>
    public static int? Azurite(string connectionString)
    {
        var endpoint = connectionString.Split(';').FirstOrDefault(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal));
        if (endpoint is null) return null;
        var port = new Uri(endpoint["TableEndpoint=".Length..]).Port.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(args, "--tablePort");
                if (at >= 0 && at + 1 < args.Length && args[at + 1] == port && args.Any(a => a.Contains("azurite", StringComparison.Ordinal))) return pid;
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }
        return null;
    }
}

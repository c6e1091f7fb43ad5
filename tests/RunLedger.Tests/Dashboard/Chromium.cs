using Microsoft.Playwright;

namespace RunLedger.Tests.Dashboard;

/// <summary>
/// Debian's Chromium driven by Playwright: Playwright's own browser download is not used (it is
/// blocked on the build machines), so the browser comes from the system (./test.sh installs the
/// <c>chromium</c> package when it is missing) or from <c>RUNLEDGER_CHROMIUM</c>.
/// </summary>
public static class Chromium
{
    private static readonly string[] DebianPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    public static string? ExecutablePath =>
        Environment.GetEnvironmentVariable("RUNLEDGER_CHROMIUM") is { Length: > 0 } configured
            ? configured
            : DebianPaths.FirstOrDefault(File.Exists);

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var path = ExecutablePath ?? throw new InvalidOperationException(
            "No Chromium found at /usr/bin/chromium: run ./test.sh (it installs Debian's chromium package), " +
            "or `apt-get install -y chromium`, or set RUNLEDGER_CHROMIUM to a Chromium binary.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = path,
                Headless = true,
                // Chromium's sandbox refuses to run as root (containers, CI); /dev/shm is small in containers.
                Args = Environment.UserName == "root" ? ["--no-sandbox", "--disable-dev-shm-usage"] : ["--disable-dev-shm-usage"],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}

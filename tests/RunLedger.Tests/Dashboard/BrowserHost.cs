using Microsoft.Playwright;
using RunLedger.Tests.Packaging;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Dashboard;

/// <summary>
/// The ledger under the local Functions host plus one headless Chromium for a class of browser
/// tests. Streams end after 3 s (as behind a proxy that cuts long responses), so every run page
/// in these tests resumes its event stream several times.
/// </summary>
public class BrowserHost : LedgerHost
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots and traces of the browser tests go (kept by CI with the test log).</summary>
    public static string ArtifactsDirectory => RepoFiles.FullPath(Path.Combine("TestResults", "dashboard"));

    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [new("RunLedger__StreamMaxDuration", "00:00:03"), new("RunLedger__StreamHeartbeat", "00:00:01")];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        (_playwright, Browser) = await Chromium.LaunchAsync();
        // Two shared cores: give the browser and the host time.
        Assertions.SetDefaultExpectTimeout(60_000);
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
    }

    /// <summary>A fresh browser context and page; phone-sized when asked.</summary>
    public async Task<BrowserPage> OpenAsync(bool phone = false)
    {
        var context = await Browser.NewContextAsync(new()
        {
            ViewportSize = phone ? new() { Width = 390, Height = 844 } : new() { Width = 1280, Height = 900 },
            DeviceScaleFactor = 1,
            IsMobile = phone,
            HasTouch = phone,
            AcceptDownloads = true,
            TimezoneId = "America/New_York",
            Locale = "en-US",
        });
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        return new BrowserPage(context, await context.NewPageAsync());
    }
}

/// <summary>A page with what the tests check besides the DOM: console errors and the page's own API requests.</summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly List<string> _consoleErrors = [];
    private readonly List<(IRequest Request, int Status)> _responses = [];

    public BrowserPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"console: {message.Text}");
        };
        page.PageError += (_, error) => { lock (_consoleErrors) _consoleErrors.Add($"page error: {error}"); };
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/api/projects/", StringComparison.Ordinal) || response.Url.Contains("/api/costs/", StringComparison.Ordinal))
            {
                lock (_responses) _responses.Add((response.Request, response.Status));
            }
        };
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    public IReadOnlyList<string> ConsoleErrors { get { lock (_consoleErrors) return [.. _consoleErrors]; } }

    /// <summary>The page's requests to the API so far, with the status each got.</summary>
    public IReadOnlyList<(IRequest Request, int Status)> ApiResponses { get { lock (_responses) return [.. _responses]; } }

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}

using RunLedger.Ledger;

namespace RunLedger.Access;

/// <summary>
/// Links to the dashboard's pages. A read token travels in the fragment (<c>#token=…</c>): browsers
/// never send a fragment to a server nor put it in a Referer, so the token reaches no log.
/// </summary>
public static class DashboardLinks
{
    public const string Path = "/api/dashboard";

    /// <summary>The dashboard's root: <c>RunLedger__DashboardBaseUrl</c>, else this request's own address.</summary>
    public static string Root(LedgerOptions options, HttpRequest request) =>
        options.DashboardBaseUrl is { Length: > 0 } configured
            ? configured.TrimEnd('/')
            : $"{request.Scheme}://{request.Host}{Path}";

    public static string Page(LedgerOptions options, HttpRequest request, string projectId, string? runId, string? token)
    {
        var page = runId is null
            ? $"{Root(options, request)}/projects/{Uri.EscapeDataString(projectId)}"
            : $"{Root(options, request)}/projects/{Uri.EscapeDataString(projectId)}/runs/{Uri.EscapeDataString(runId)}";
        return token is null ? page : $"{page}#token={token}";
    }
}

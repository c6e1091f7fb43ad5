using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RunLedger.Access;
using RunLedger.Ledger;

namespace RunLedger.Dashboard;

/// <summary>
/// A run's <c>dashboardUrl</c>, worked out for each answer (the stored run holds none): its run page
/// (<see cref="DashboardLinks"/>: <c>RunLedger__DashboardBaseUrl</c>, else the request's own address)
/// with a fresh read token for that run in the fragment when the caller holds a key (admin or the
/// project's). A caller with a read token gets the page's address without a token, so a link can
/// never extend itself; it opens the page with the token it already has.
/// </summary>
public sealed class RunLinks(Credentials credentials, IOptions<LedgerOptions> options, TimeProvider clock)
{
    public const string Field = "dashboardUrl";

    /// <summary>
    /// Sets <c>dashboardUrl</c> on a run (or a run summary) about to be answered to <paramref name="request"/>;
    /// a read link sees its callback URLs' origins only (<see cref="Callbacks.CallbackUrls"/>).
    /// </summary>
    public JsonObject Stamp(HttpRequest request, JsonObject run)
    {
        if ((string?)run["projectId"] is { } projectId && (string?)run["runId"] is { } runId)
        {
            run[Field] = DashboardLinks.Page(options.Value, request, projectId, runId, TokenFor(request, projectId, runId));
        }
        Callbacks.CallbackUrls.ForReader(request, run["configSnapshot"]);
        return run;
    }

    private string? TokenFor(HttpRequest request, string projectId, string runId) =>
        credentials.CanMint && request.HttpContext.Features.Get<Caller>() is { Kind: CallerKind.Admin or CallerKind.ProjectKey }
            ? credentials.MintReadToken(projectId, runId, Expiry(clock.GetUtcNow(), options.Value.LinkLifetime))
            : null;

    /// <summary>
    /// <c>RunLedger__LinkLifetime</c> from now, rounded up to the next whole hour (UTC): answers about
    /// the same run within the hour carry the same link, so a run read twice reads the same.
    /// </summary>
    public static DateTimeOffset Expiry(DateTimeOffset now, TimeSpan lifetime)
    {
        var at = now + lifetime;
        var hour = TimeSpan.TicksPerHour;
        return new DateTimeOffset((at.UtcTicks + hour - 1) / hour * hour, TimeSpan.Zero);
    }
}

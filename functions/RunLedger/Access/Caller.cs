using RunLedger.Http;
using RunLedger.Ledger;

namespace RunLedger.Access;

public enum CallerKind { Nobody, Invalid, Admin, ProjectKey, ReadToken }

/// <summary>
/// Who made a request, as far as its credential tells; what it may do depends on the project (and
/// run) it asks about, so the checks take those.
/// </summary>
public sealed record Caller(CallerKind Kind, string? Key, string? ProjectId, string? RunId, DateTimeOffset? ExpiresAt, string? Problem = null)
{
    public static readonly Caller Nobody = new(CallerKind.Nobody, null, null, null, null);
    public static readonly Caller Admin = new(CallerKind.Admin, null, null, null, null);

    public static Caller Invalid(string problem) => new(CallerKind.Invalid, null, null, null, null, problem);

    public bool IsAdmin => Kind == CallerKind.Admin;

    /// <summary>
    /// Throws 401 or 403 problem unless this caller may do <paramref name="need"/> on <paramref name="projectId"/>
    /// (null: across projects) and, when given, <paramref name="runId"/>.
    /// </summary>
    public void Demand(Credentials credentials, Need need, string? projectId, string? runId)
    {
        switch (Kind)
        {
            case CallerKind.Nobody:
                throw Unauthorized("This request needs a key in the 'x-functions-key' header or the 'code' query parameter.");
            case CallerKind.Invalid:
                throw Unauthorized(Problem!);
            case CallerKind.Admin:
                return;
        }
        if (need == Need.Anyone) return;
        if (need == Need.Admin)
        {
            throw Forbidden("This request needs an admin key.");
        }
        if (projectId is null)
        {
            throw Forbidden("This request spans projects and needs an admin key; name a project with 'projectId' to use a project's credential.");
        }
        if (Kind == CallerKind.ProjectKey)
        {
            if (!Keys.IsValidId(projectId) || !credentials.IsProjectKey(Key!, projectId))
            {
                // A project key is only ever checked against the project asked about; it cannot tell
                // a key of another project from a made-up one, and says so.
                throw Forbidden($"The key is not a key of project '{projectId}'.");
            }
            return;
        }

        // A read token.
        if (need != Need.Read)
        {
            throw Forbidden("A read-only link cannot change anything or read a project's settings.");
        }
        if (!string.Equals(projectId, ProjectId, StringComparison.Ordinal))
        {
            throw Forbidden($"This link is for project '{ProjectId}', not '{projectId}'.");
        }
        if (RunId is not null && !string.Equals(runId, RunId, StringComparison.Ordinal))
        {
            throw Forbidden(runId is null
                ? $"This link is for run '{RunId}' only, not the whole project."
                : $"This link is for run '{RunId}', not '{runId}'.");
        }
    }

    private static LedgerException Unauthorized(string detail) => new(StatusCodes.Status401Unauthorized, "Unauthorized", detail);

    private static LedgerException Forbidden(string detail) => new(StatusCodes.Status403Forbidden, "Forbidden", detail);
}

namespace RunLedger.Http;

/// <summary>What a caller must hold to run a function.</summary>
public enum Need
{
    /// <summary>No credential: health, the OpenAPI document, the dashboard's page shells.</summary>
    Anyone,

    /// <summary>Read one project's or one run's data: an admin key, that project's key, or a read token in scope.</summary>
    Read,

    /// <summary>Change a project (or read its secrets, such as its config): an admin key or that project's key.</summary>
    Write,

    /// <summary>Cross-project data and key minting: an admin key.</summary>
    Admin,
}

/// <summary>Where a function's project id comes from, for checking a credential's scope.</summary>
public enum ProjectFrom
{
    /// <summary>The route's <c>{projectId}</c> (and <c>{runId}</c>, when present).</summary>
    Route,

    /// <summary>The <c>projectId</c> query parameter; without it the request spans projects and needs an admin key.</summary>
    Query,

    /// <summary>The body: the function itself demands access once it has read the project id (the Access area's <c>Caller.Demand</c>).</summary>
    Body,
}

/// <summary>
/// Declares who may call an HTTP function. Every HTTP function carries one (a test checks); the
/// Access area's <c>AccessMiddleware</c> enforces it before the function runs, the same way under any host.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class AccessAttribute(Need need) : Attribute
{
    public Need Need { get; } = need;

    public ProjectFrom Project { get; init; } = ProjectFrom.Route;
}

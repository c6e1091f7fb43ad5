namespace RunLedger.Http;

/// <summary>
/// An answer an HTTP function gives when it does what was asked, declared beside its route:
/// <c>[Answers(200, "Run", Headers = ["ETag"])]</c>. One per status and content type; two with the
/// same status are one response with two content types (<c>Accept</c> chooses). The OpenAPI
/// document (<c>Hosting/OpenApiDocument</c>) is built from these, so they are what clients see.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class AnswersAttribute(int status, string? schema = null) : Attribute
{
    public const string Json = "application/json";

    public int Status { get; } = status;

    /// <summary>The body's schema, by its name in the document's components; null for no body (204, 304) or for a text body.</summary>
    public string? Schema { get; } = schema;

    /// <summary>The body's media type; <see cref="Json"/> unless said.</summary>
    public string ContentType { get; init; } = Json;

    /// <summary>Response headers that come with this answer, by name: <c>ETag</c>, <c>Location</c>.</summary>
    public string[] Headers { get; init; } = [];

    /// <summary>When this answer is given, in a sentence.</summary>
    public string? When { get; init; }
}

/// <summary>
/// The refusals an HTTP function itself can give, as RFC 9457 problem+json (thrown as
/// <see cref="LedgerException"/> and written by <see cref="ProblemMiddleware"/>):
/// <c>[Problems(400, 404, 503)]</c>. Two kinds are implied and not listed: 401 and 403 for every
/// function whose <c>[Access]</c> needs a credential (the access middleware's), and 500 for every
/// function (anything unexpected). 503 (storage busy or unreachable, with <c>Retry-After</c>) is
/// listed by the functions that use storage.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ProblemsAttribute(params int[] statuses) : Attribute
{
    public IReadOnlyList<int> Statuses { get; } = statuses;
}

/// <summary>The request body an HTTP function reads, by its schema's name in the document's components.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BodyAttribute(string schema) : Attribute
{
    public string Schema { get; } = schema;

    /// <summary>False when an empty body is taken as <c>{}</c>.</summary>
    public bool Required { get; init; } = true;

    /// <summary>Media types accepted: JSON (any <c>+json</c> type is read as JSON too).</summary>
    public string[] ContentTypes { get; init; } = [AnswersAttribute.Json];
}

/// <summary>
/// A query parameter an HTTP function reads. Its type and meaning are the API's (one description
/// per name, in <c>Hosting/OpenApiSchemas</c>); a page size also says its bounds here.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class QueryAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>For <c>limit</c>: the largest page (0: no bound stated).</summary>
    public int Maximum { get; init; }

    /// <summary>For <c>limit</c>: the page size when it is absent (0: none stated).</summary>
    public int Default { get; init; }
}

/// <summary>A request header an HTTP function reads (<c>Idempotency-Key</c>, <c>If-Match</c>, <c>Last-Event-ID</c>, <c>If-None-Match</c>).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class RequestHeaderAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

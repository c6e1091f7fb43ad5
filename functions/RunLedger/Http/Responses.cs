namespace RunLedger.Http;

/// <summary>Response helpers shared by the HTTP functions.</summary>
public static class Responses
{
    /// <summary>The answer, with the entity's <c>ETag</c> header set (for <c>If-Match</c>).</summary>
    public static IResult WithETag(this IResult result, HttpContext context, Azure.ETag etag)
    {
        context.Response.Headers.ETag = etag.ToString("H");
        return result;
    }
}

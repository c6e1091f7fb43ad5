using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Storage;

/// <summary>
/// One service endpoint plus the pipeline that talks to it: builds request messages on escaped
/// paths and turns error answers into <see cref="StorageRequestFailedException"/>.
/// </summary>
internal sealed class StorageService(HttpPipeline pipeline, Uri endpoint, string serviceName)
{
    // Endpoint without a trailing slash, so paths can be appended as "/name".
    private readonly string _root = endpoint.AbsoluteUri.TrimEnd('/');

    public string ServiceName { get; } = serviceName;

    public string Root => _root;

    /// <summary>A message for <paramref name="escapedPath"/> (already URL-escaped, starting with "/").</summary>
    public HttpMessage CreateMessage(RequestMethod method, string escapedPath)
    {
        var message = pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(_root + escapedPath));
        return message;
    }

    public async Task<Response> SendAsync(HttpMessage message, CancellationToken cancellationToken)
    {
        await pipeline.SendAsync(message, cancellationToken);
        return message.Response;
    }

    public StorageRequestFailedException Error(Response response) => StorageErrors.Create(ServiceName, response);

    public static ETag ETagOf(Response response) =>
        response.Headers.TryGetValue("ETag", out var etag) ? new ETag(etag) : default;
}

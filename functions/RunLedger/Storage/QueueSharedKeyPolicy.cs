using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Storage;

/// <summary>
/// Signs Queue requests with the full SharedKey scheme (Azurite's queue service refuses SharedKeyLite):
/// verb, standard headers, canonicalized x-ms-* headers and canonicalized resource with all query parameters.
/// </summary>
internal sealed class QueueSharedKeyPolicy(string accountName, byte[] accountKey) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        string Header(string name) => request.Headers.TryGetValue(name, out var value) ? value : string.Empty;

        // Content-Length is signed as empty when zero (versions 2015-02-21 and later).
        var contentLength = request.Content is not null && request.Content.TryComputeLength(out var length) && length > 0
            ? length.ToString(CultureInfo.InvariantCulture)
            : string.Empty;

        var builder = new StringBuilder()
            .Append(request.Method.Method).Append('\n')
            .Append(Header("Content-Encoding")).Append('\n')
            .Append(Header("Content-Language")).Append('\n')
            .Append(contentLength).Append('\n')
            .Append(Header("Content-MD5")).Append('\n')
            .Append(Header("Content-Type")).Append('\n')
            .Append('\n') // Date: empty because x-ms-date is sent.
            .Append(Header("If-Modified-Since")).Append('\n')
            .Append(Header("If-Match")).Append('\n')
            .Append(Header("If-None-Match")).Append('\n')
            .Append(Header("If-Unmodified-Since")).Append('\n')
            .Append(Header("Range")).Append('\n');

        foreach (var header in request.Headers
            .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            .Select(h => (Name: SharedKeyCanonicalizer.Lower(h.Name), h.Value))
            .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            builder.Append(header.Name).Append(':').Append(header.Value.Trim()).Append('\n');
        }

        var uri = request.Uri.ToUri();
        builder.Append('/').Append(accountName).Append(uri.AbsolutePath);
        foreach (var group in SharedKeyCanonicalizer.QueryParameters(uri)
            .GroupBy(p => SharedKeyCanonicalizer.Lower(p.Name))
            .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            builder.Append('\n').Append(group.Key).Append(':')
                .AppendJoin(',', group.Select(p => p.Value).Order(StringComparer.Ordinal));
        }

        var signature = Convert.ToBase64String(
            HMACSHA256.HashData(accountKey, Encoding.UTF8.GetBytes(builder.ToString())));
        request.Headers.SetValue("Authorization", $"SharedKey {accountName}:{signature}");
    }
}

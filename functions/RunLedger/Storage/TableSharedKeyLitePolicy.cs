using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Storage;

/// <summary>
/// Signs Table requests with SharedKeyLite: HMAC-SHA256 over <c>x-ms-date + "\n" + "/{account}{path}"</c>
/// (plus <c>?comp=…</c> when present). The path is the escaped path as sent, so for path-style
/// Azurite URLs the account appears twice (<c>/devstoreaccount1/devstoreaccount1/runs</c>).
/// </summary>
internal sealed class TableSharedKeyLitePolicy(string accountName, byte[] accountKey) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        request.Headers.TryGetValue(StorageDatePolicy.HeaderName, out var date);
        var uri = request.Uri.ToUri();
        var resource = "/" + accountName + uri.AbsolutePath;
        var comp = SharedKeyCanonicalizer.QueryParameters(uri)
            .FirstOrDefault(p => string.Equals(p.Name, "comp", StringComparison.OrdinalIgnoreCase));
        if (comp.Name is not null)
        {
            resource += "?comp=" + comp.Value;
        }

        var signature = Convert.ToBase64String(
            HMACSHA256.HashData(accountKey, Encoding.UTF8.GetBytes((date ?? string.Empty) + "\n" + resource)));
        request.Headers.SetValue("Authorization", $"SharedKeyLite {accountName}:{signature}");
    }
}

using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RunLedger.Storage;

/// <summary>
/// Stamps <c>x-ms-date</c> on every attempt. It runs per retry, before the auth policy, because
/// the shared-key signatures cover the date and the service rejects dates older than 15 minutes.
/// </summary>
internal sealed class StorageDatePolicy : HttpPipelineSynchronousPolicy
{
    public const string HeaderName = "x-ms-date";

    public override void OnSendingRequest(HttpMessage message) =>
        message.Request.Headers.SetValue(HeaderName, DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture));
}

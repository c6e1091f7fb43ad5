using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Azure;

namespace RunLedger.Storage;

/// <summary>
/// Reads the service's error answer: JSON <c>odata.error</c> from the Table service, XML
/// <c>&lt;Error&gt;</c> from the Queue service (and from either when it falls back to XML).
/// </summary>
internal static class StorageErrors
{
    public static StorageRequestFailedException Create(string service, Response response)
    {
        var (code, message) = Parse(response.Content);
        if (code is null && response.Headers.TryGetValue("x-ms-error-code", out var headerCode))
        {
            code = headerCode;
        }

        return new StorageRequestFailedException(service, response.Status, code, RequestId(response), message);
    }

    public static string? RequestId(Response response) =>
        response.Headers.TryGetValue("x-ms-request-id", out var id) ? id : null;

    public static (string? Code, string? Message) Parse(BinaryData? body)
    {
        if (body is null)
        {
            return (null, null);
        }

        var bytes = body.ToMemory();
        var span = bytes.Span.TrimStart("\uFEFF"u8).TrimStart(" \r\n\t"u8);
        if (span.IsEmpty)
        {
            return (null, null);
        }

        try
        {
            if (span[0] == (byte)'{')
            {
                using var doc = JsonDocument.Parse(bytes);
                if (doc.RootElement.TryGetProperty("odata.error", out var error))
                {
                    var code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
                    string? message = null;
                    if (error.TryGetProperty("message", out var m))
                    {
                        message = m.ValueKind == JsonValueKind.Object && m.TryGetProperty("value", out var v) ? v.GetString()
                            : m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                    }

                    return (code, message);
                }
            }
            else if (span[0] == (byte)'<')
            {
                var root = XDocument.Parse(body.ToString()).Root;
                var code = root?.Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
                var message = root?.Elements().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value;
                return (code, message);
            }
        }
        catch (JsonException)
        {
            // Not the error shape we know: fall back to status and headers only.
        }
        catch (XmlException)
        {
            // Same.
        }

        return (null, null);
    }
}

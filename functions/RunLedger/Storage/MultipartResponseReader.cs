using System.Globalization;

namespace RunLedger.Storage;

/// <summary>
/// Reads the HTTP responses embedded in a (possibly nested) multipart/mixed batch answer, in order.
/// Small and lenient by design: it accepts CRLF or LF line endings and ignores preambles.
/// </summary>
internal static class MultipartResponseReader
{
    public sealed record Part(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    public static List<Part> Read(string text, string boundary)
    {
        var results = new List<Part>();
        ReadInto(text.Replace("\r\n", "\n", StringComparison.Ordinal), boundary, results);
        return results;
    }

    private static void ReadInto(string text, string boundary, List<Part> results)
    {
        var segments = text.Split("--" + boundary);

        // segments[0] is the preamble; a segment starting with "--" follows the closing delimiter.
        foreach (var segment in segments.Skip(1))
        {
            if (segment.StartsWith("--", StringComparison.Ordinal))
            {
                break;
            }

            var (headers, body) = SplitHeaders(segment.TrimStart('\n', ' ', '\t'));
            headers.TryGetValue("Content-Type", out var contentType);
            if (contentType?.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) == true
                && TableTransactionBatch.Boundary(contentType) is { } inner)
            {
                ReadInto(body, inner, results);
            }
            else if (contentType?.StartsWith("application/http", StringComparison.OrdinalIgnoreCase) == true)
            {
                results.Add(ReadHttpResponse(body));
            }
        }
    }

    private static Part ReadHttpResponse(string text)
    {
        text = text.TrimStart('\n');
        var lineEnd = text.IndexOf('\n', StringComparison.Ordinal);
        var statusLine = lineEnd < 0 ? text : text[..lineEnd];

        // "HTTP/1.1 204 No Content"
        var fields = statusLine.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        var status = fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
        var (headers, body) = SplitHeaders(lineEnd < 0 ? string.Empty : text[(lineEnd + 1)..]);
        return new Part(status, headers, body.TrimEnd('\n'));
    }

    private static (Dictionary<string, string> Headers, string Body) SplitHeaders(string text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var position = 0;
        while (position < text.Length)
        {
            var end = text.IndexOf('\n', position);
            if (end < 0)
            {
                end = text.Length;
            }

            var line = text[position..end];
            position = Math.Min(end + 1, text.Length);
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return (headers, text[position..]);
    }
}

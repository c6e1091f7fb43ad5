using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace RunLedger.Storage;

/// <summary>The Queue service's XML: message bodies out, QueueMessagesList answers in (dates are RFC 1123).</summary>
internal static class QueueXml
{
    public static byte[] MessageBody(string rawText) =>
        Encoding.UTF8.GetBytes(new XElement("QueueMessage", new XElement("MessageText", rawText)).ToString(SaveOptions.DisableFormatting));

    public static IEnumerable<XElement> Messages(BinaryData body) =>
        XDocument.Parse(body.ToString()).Root?.Elements("QueueMessage") ?? [];

    public static string Text(XElement message, string name) =>
        message.Element(name)?.Value ?? throw new FormatException($"The queue answer lacks {name}.");

    public static long Long(XElement message, string name) =>
        long.Parse(Text(message, name), NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static DateTimeOffset Date(XElement message, string name) => ParseDate(Text(message, name));

    public static DateTimeOffset ParseDate(string value) =>
        DateTimeOffset.ParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>The decoded bytes, or null when the stored text is not base64 (as the Functions host decides it).</summary>
    public static BinaryData? DecodeBase64(string rawText)
    {
        try
        {
            return BinaryData.FromBytes(Convert.FromBase64String(rawText));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

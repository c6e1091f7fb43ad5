using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

/// <summary>The batch answer reader on answers shaped like Azure's (CRLF, one failing part, index in the message).</summary>
public sealed class TableTransactionBatchTests
{
    private const string AzureFailure =
        "--batchresponse_1\r\n" +
        "Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
        "--changesetresponse_2\r\n" +
        "Content-Type: application/http\r\n" +
        "Content-Transfer-Encoding: binary\r\n\r\n" +
        "HTTP/1.1 409 Conflict\r\n" +
        "Content-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n\r\n" +
        "{\"odata.error\":{\"code\":\"EntityAlreadyExists\",\"message\":{\"lang\":\"en-US\",\"value\":\"3:The specified entity already exists.\\nRequestId:x\\nTime:y\"}}}\r\n" +
        "--changesetresponse_2--\r\n" +
        "--batchresponse_1--\r\n";

    [Fact]
    public void TheFailingPartIsFoundInANestedChangeset()
    {
        var part = Assert.Single(MultipartResponseReader.Read(AzureFailure, "batchresponse_1"));

        Assert.Equal(409, part.Status);
        Assert.Equal((Code: "EntityAlreadyExists", Message: "3:The specified entity already exists.\nRequestId:x\nTime:y"),
            StorageErrors.Parse(BinaryData.FromString(part.Body)));
    }

    [Fact]
    public void LfOnlyAnswersAreReadToo()
    {
        var parts = MultipartResponseReader.Read(AzureFailure.Replace("\r\n", "\n", StringComparison.Ordinal), "batchresponse_1");

        Assert.Equal(409, Assert.Single(parts).Status);
    }

    [Theory]
    [InlineData("3:The specified entity already exists.", 3)]
    [InlineData("0:x", 0)]
    [InlineData("The batch request body is malformed.", null)]
    [InlineData(null, null)]
    public void TheFailedIndexComesFromTheMessagePrefix(string? message, int? expected)
    {
        Assert.Equal(expected, TableTransactionBatch.IndexFromMessage(message));
    }

    [Theory]
    [InlineData("multipart/mixed; boundary=batchresponse_abc", "batchresponse_abc")]
    [InlineData("multipart/mixed; boundary=\"quoted\"; charset=utf-8", "quoted")]
    [InlineData("application/json", null)]
    public void TheBoundaryIsReadFromTheContentType(string contentType, string? expected)
    {
        Assert.Equal(expected, TableTransactionBatch.Boundary(contentType));
    }
}

using RunLedger.Access;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Http;

namespace RunLedger.Hosting;

/// <summary>
/// The service itself, both anonymous.
/// <code>
/// GET health         Health               liveness
/// GET openapi.json   GetOpenApiDocument   this API, from the functions' own trigger attributes
/// </code>
/// </summary>
public static class ServiceFunctions
{
    private static readonly Lazy<string> Document = new(() => OpenApiDocument.Build(typeof(ServiceFunctions).Assembly).ToJsonString());

    [Function("Health")]
    [Access(Need.Anyone)]
    [Answers(200, "Health")]
    public static IResult Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        TypedResults.Ok(new JsonObject { ["status"] = "healthy" });

    [Function("GetOpenApiDocument")]
    [Access(Need.Anyone)]
    [Answers(200, "OpenApi")]
    public static IResult GetOpenApiDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request) =>
        TypedResults.Text(Document.Value, "application/json; charset=utf-8");
}

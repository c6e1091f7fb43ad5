using Microsoft.Azure.Functions.Worker;
using RunLedger.Http;

namespace RunLedger.Costs;

/// <summary>
/// The price book, as data: read it, add or change a model's prices (admin).
/// <code>
/// GET pricing                    GetPricing        every model: id, prefixes, prices by date, source (file or api)
/// PUT pricing/models/{modelId}   PutModelPricing   add or replace one model's entry
/// </code>
/// </summary>
public sealed class PricingFunctions(PriceBook book)
{
    [Function("GetPricing")]
    [Access(Need.Admin)]
    [Answers(200, "PriceBook")]
    [Problems(503)]
    public async Task<IResult> GetPricing(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "pricing")] HttpRequest request,
        CancellationToken cancellationToken) =>
        TypedResults.Ok(await book.ShowAsync(cancellationToken));

    [Function("PutModelPricing")]
    [Access(Need.Admin)]
    [Body("ModelPricingRequest")]
    [Answers(200, "ModelPricing", When = "The model's entry as stored; it prices reports from now on, by their dates.")]
    [Problems(400, 413, 415, 503)]
    public async Task<IResult> PutModelPricing(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "pricing/models/{modelId}")] HttpRequest request,
        string modelId, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadObjectAsync(request, cancellationToken);
        return TypedResults.Ok(await book.PutModelAsync(modelId, body, cancellationToken));
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Fixture;

/// <summary>HTTP functions covering routes, constraints, methods, bodies and failures.</summary>
public sealed class HttpFunctions(ILogger<HttpFunctions> logger)
{
    [Function("Ping")]
    public static IActionResult Ping([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ping")] HttpRequest req) =>
        new OkObjectResult("pong");

    [Function("GetItem")]
    public static IActionResult GetItem(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id:int}")] HttpRequest req, int id) =>
        new OkObjectResult(new { id, query = req.Query["q"].ToString() });

    [Function("PutItem")]
    public static async Task<IActionResult> PutItem(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", "post", Route = "items/{category}/{name}")] HttpRequest req,
        string category, string name)
    {
        using var reader = new StreamReader(req.Body);
        var body = await reader.ReadToEndAsync();
        return new OkObjectResult(new { category, name, method = req.Method, body });
    }

    [Function("Secured")]
    public static IActionResult Secured([HttpTrigger(AuthorizationLevel.Function, "get", Route = "secured")] HttpRequest req) =>
        new OkObjectResult("secret");

    [Function("Throws")]
    public static IActionResult Throws([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "throws")] HttpRequest req) =>
        throw new InvalidOperationException("The fixture function failed on purpose.");

    /// <summary>Server-Sent Events: five events 400 ms apart, each flushed.</summary>
    [Function("Stream")]
    public static async Task Stream(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "stream")] HttpRequest req, CancellationToken cancellationToken)
    {
        var response = req.HttpContext.Response;
        response.ContentType = "text/event-stream";
        for (var i = 0; i < 5; i++)
        {
            await response.WriteAsync($"id: {i}\ndata: event {i}\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            await Task.Delay(400, cancellationToken);
        }
    }

    /// <summary>Waits until cancelled (or 60 s) and logs which happened, so a test can see the token fire.</summary>
    [Function("Slow")]
    public async Task<IActionResult> Slow(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "slow/{key}")] HttpRequest req, string key,
        CancellationToken cancellationToken)
    {
        logger.LogInformation("Slow {Key} started", key);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogInformation("Slow {Key} cancelled", key);
            throw;
        }
        return new OkObjectResult("done");
    }

    // Two routes that can match GET api/order/fixed. Azure's host tries routes in function-name order,
    // so "OrderAnything" (sorted first) answers it, although "OrderFixed" is more specific.
    [Function("OrderAnything")]
    public static IActionResult OrderAnything(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "order/{name}")] HttpRequest req, string name) =>
        new OkObjectResult(new { function = "OrderAnything", name });

    [Function("OrderFixed")]
    public static IActionResult OrderFixed(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "order/fixed")] HttpRequest req) =>
        new OkObjectResult(new { function = "OrderFixed" });

    /// <summary>Answers the invocation's binding data (values as the worker got them) and its environment name.</summary>
    [Function("EchoBindingData")]
    public static IActionResult EchoBindingData(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "binding/{id}")] HttpRequest req, FunctionContext context)
    {
        req.HttpContext.Response.Headers["X-Fixture-Own"] = "from-function";
        return new OkObjectResult(new
        {
            data = context.BindingContext.BindingData.ToDictionary(p => p.Key, p => p.Value?.ToString()),
            environment = Environment.GetEnvironmentVariable("AZURE_FUNCTIONS_ENVIRONMENT"),
        });
    }
}

using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Worker;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace FunctionsHost.Http;

/// <summary>
/// Serves HTTP triggers as the host does with ASP.NET Core integration: match the function,
/// tag the request with <c>x-ms-invocation-id</c>, forward it to the worker's own HTTP server
/// and send the paired <c>InvocationRequest</c> at the same time. The response streams through.
/// </summary>
internal sealed class HttpTriggerHandler(
    HttpRouter router,
    WorkerSupervisor supervisor,
    FunctionKeys keys,
    IHttpForwarder forwarder,
    ILogger logger)
{
    private static readonly HttpMessageInvoker Client = new(new WorkerConnectRetry(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    }));

    // A request that arrives while the worker restarts waits this long for it.
    private static readonly TimeSpan WorkerWait = TimeSpan.FromSeconds(30);

    // The host's forwarder gives up on a response idle this long; streams need heartbeats below it.
    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(240) };

    public async Task HandleAsync(HttpContext context)
    {
        if (router.Match(context) is not var (function, routeValues))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!keys.Allows(context, function))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        ReadyWorker worker;
        try
        {
            worker = await supervisor.WaitReadyAsync(context.RequestAborted).WaitAsync(WorkerWait);
        }
        catch (TimeoutException)
        {
            await Problem(context, 503, "The worker is not running (it is restarting); try again shortly.");
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        if (worker.HttpUri is null)
        {
            await Problem(context, 500, "The worker did not report an HttpUri; is ConfigureFunctionsWebApplication() called?");
            return;
        }

        Dictionary<string, TypedData> bindingData;
        try
        {
            bindingData = await HttpBindingData.BuildAsync(context.Request, routeValues);
        }
        catch (BadHttpRequestException e)
        {
            // A body over the host's limit (Kestrel's MaxRequestBodySize): 413, as Kestrel answers in Azure.
            context.Response.StatusCode = e.StatusCode;
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        var request = FunctionInvoker.NewRequest(function, new TypedData { Http = new RpcHttp() }, bindingData);
        context.Request.Headers["x-ms-invocation-id"] = request.InvocationId;
        var invocation = worker.Channel.InvokeAsync(request);
        // A client that goes away cancels the invocation, so the function's CancellationToken fires.
        using var cancel = context.RequestAborted.Register(() => worker.Channel.Cancel(request.InvocationId));

        var transformer = new InvocationTransformer(invocation);
        var error = await forwarder.SendAsync(context, worker.HttpUri.ToString(), Client, RequestConfig, transformer);
        if (error != ForwarderError.None)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                var cause = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? "";
                HttpLog.ForwardFailed(logger, function.Name, error.ToString(), cause);
            }
            _ = invocation.ContinueWith(static t => t.Exception, TaskScheduler.Default);
            return;
        }
        var result = await ResultOrFailure(invocation);
        if (!result.Succeeded() && !context.Response.HasStarted)
        {
            await Problem(context, 500, $"Function '{function.Name}' failed: {result.Result?.Exception?.Message ?? "no result"}");
        }
    }

    private static async Task<InvocationResponse> ResultOrFailure(Task<InvocationResponse> invocation)
    {
        try
        {
            return await invocation;
        }
        catch (WorkerGoneException e)
        {
            return new InvocationResponse { Result = new StatusResult { Status = StatusResult.Types.Status.Failure, Exception = new RpcException { Message = e.Message } } };
        }
    }

    private static Task Problem(HttpContext context, int status, string detail)
    {
        context.Response.Clear();
        return Results.Problem(statusCode: status, title: "Function invocation failed", detail: detail).ExecuteAsync(context);
    }

    /// <summary>
    /// A function that throws still gets an empty 200 from the worker's HTTP server; for an empty
    /// response this waits for the invocation's result and leaves the response unstarted when it
    /// failed, so the handler can answer 500. Streamed responses are never held back.
    /// </summary>
    private sealed class InvocationTransformer(Task<InvocationResponse> invocation) : HttpTransformer
    {
        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse?.Content.Headers.ContentLength == 0)
            {
                try
                {
                    var result = await invocation.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                    if (!result.Succeeded())
                    {
                        return false;
                    }
                }
                catch (Exception e) when (e is TimeoutException or WorkerGoneException or OperationCanceledException)
                {
                    // No verdict yet: pass the worker's response through as it is.
                }
            }
            return await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }
    }
}

internal static partial class HttpLog
{
    [LoggerMessage(200, LogLevel.Warning, "Forwarding to function {Function} failed: {Error} {Cause}")]
    public static partial void ForwardFailed(ILogger logger, string function, string error, string cause);

    [LoggerMessage(201, LogLevel.Warning, "HTTP functions {First} ({FirstRoute}) and {Second} ({SecondRoute}) can match the same request; Azure's host sends it to {First}, which sorts first by name. Make the routes unable to collide (a route constraint or another shape).")]
    public static partial void RoutesOverlap(ILogger logger, string first, string firstRoute, string second, string secondRoute);
}

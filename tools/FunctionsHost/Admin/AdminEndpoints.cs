using System.Text.Json;
using FunctionsHost.Functions;
using FunctionsHost.Http;
using FunctionsHost.Queues;
using FunctionsHost.Rpc;
using FunctionsHost.Timers;
using FunctionsHost.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FunctionsHost.Admin;

/// <summary>
/// The host's admin API for non-HTTP functions: <c>POST /admin/functions/{name}</c> with
/// <c>{"input": "..."}</c> runs the function once in the background and answers 202.
/// </summary>
public static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app, string host) =>
        app.MapPost("/admin/functions/{name}", RunAsync).RequireHost(host);

    private static async Task<IResult> RunAsync(string name, HttpContext context, WorkerSupervisor supervisor, FunctionInvoker invoker, FunctionKeys keys)
    {
        if (!keys.Allows(context, null))
        {
            return Results.Unauthorized();
        }
        var functions = await supervisor.Functions.WaitAsync(context.RequestAborted);
        var function = functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        if (function is null)
        {
            return Results.Problem(statusCode: 404, title: "No such function", detail: $"No function is named '{name}'.");
        }
        if (function.Trigger == TriggerKind.Http)
        {
            return Results.Problem(statusCode: 400, title: "HTTP function", detail: $"'{name}' is an HTTP function: call its route instead.");
        }
        var input = await ReadInputAsync(context);
        var trigger = function.Trigger == TriggerKind.Timer
            ? TimerListener.TimerInfo(status: null, isPastDue: false)
            : new TypedData { String = input };
        var metadata = function.Trigger == TriggerKind.Queue ? QueueTriggerData.Metadata(input) : new Dictionary<string, TypedData>();
        // Like the host: accepted now, run in the background; the outcome shows in the logs.
        _ = Task.Run(() => invoker.InvokeAsync(function, trigger, metadata, CancellationToken.None));
        return Results.Accepted();
    }

    private static async Task<string> ReadInputAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 or null && context.Request.Headers.TransferEncoding.Count == 0)
        {
            return "";
        }
        using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        return document.RootElement.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.String ? input.GetString()! : "";
    }
}

using System.Collections.Frozen;
using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using RunLedger.Http;

namespace RunLedger.Access;

/// <summary>
/// Enforces each HTTP function's <see cref="AccessAttribute"/> before it runs. The host serves every
/// function anonymously; credentials are the app's own (<see cref="Credentials"/>), so the rules are the
/// same under Azure, Core Tools and the local host. Runs inside the problem middleware: refusals are
/// 401/403 problem+json. A function without a declaration is refused (fail closed).
/// </summary>
public sealed class AccessMiddleware(Credentials credentials) : IFunctionsWorkerMiddleware
{
    private static readonly FrozenDictionary<string, AccessAttribute> Declared =
        (from type in typeof(AccessMiddleware).Assembly.GetTypes()
         from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
         let function = method.GetCustomAttribute<FunctionAttribute>()
         let access = method.GetCustomAttribute<AccessAttribute>()
         where function is not null && access is not null
         select (function.Name, access)).ToFrozenDictionary(f => f.Name, f => f.access);

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is not { } http)
        {
            await next(context);
            return;
        }
        if (!Declared.TryGetValue(context.FunctionDefinition.Name, out var access))
        {
            throw new Http.LedgerException(StatusCodes.Status403Forbidden, "Forbidden", "This function declares no access rule, so it serves nobody.");
        }

        var caller = credentials.Identify(Presented(http.Request));
        http.Features.Set(caller);
        if (access.Need != Need.Anyone)
        {
            switch (access.Project)
            {
                case ProjectFrom.Route:
                    // Scope from the matched route only: binding data also holds query parameters and body members.
                    caller.Demand(credentials, access.Need, RouteValues.Get(context, "projectId"), RouteValues.Get(context, "runId"));
                    break;
                case ProjectFrom.Query:
                    caller.Demand(credentials, access.Need, http.Request.Query["projectId"].FirstOrDefault(), null);
                    break;
                case ProjectFrom.Body when caller.Kind is CallerKind.Nobody or CallerKind.Invalid or CallerKind.ReadToken:
                    // Refused whatever the project: no credential, a bad one, or a read-only one.
                    caller.Demand(credentials, Need.Write, "", null);
                    break;
            }
        }
        await next(context);
    }

    /// <summary>The caller of a request this middleware let through.</summary>
    public static Caller CallerOf(HttpContext http) =>
        http.Features.Get<Caller>() ?? throw new InvalidOperationException("The access middleware did not run for this request.");

    /// <summary>
    /// The one credential a caller presents: the <c>x-functions-key</c> header when the request has one
    /// (even empty), else the <c>code</c> query parameter, the order Azure's host reads keys in
    /// (azure-functions-host AuthenticationLevelHandler.GetAuthorizationKeyInfoAsync: "header takes precedence").
    /// </summary>
    public static string? Presented(HttpRequest request) =>
        request.Headers.TryGetValue("x-functions-key", out var header) ? header.FirstOrDefault() : request.Query["code"].FirstOrDefault();
}

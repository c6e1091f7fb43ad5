using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Access;
using RunLedger.Http;

namespace RunLedger.Billing;

/// <summary>
/// A project's (client's) monthly statements: what the agency bills, provider cost plus markup.
/// <code>
/// GET  projects/{projectId}/statements                  ListStatements     the closed statements
/// GET  projects/{projectId}/statements/{month}          GetStatement       JSON, or CSV with Accept: text/csv
/// POST projects/{projectId}/statements/{month}/close    CloseStatement     number it, freeze it
/// </code>
/// </summary>
public sealed partial class StatementsFunctions(Statements statements)
{
    [Function("ListStatements")]
    [Access(Need.Read)]
    [Answers(200, "StatementList")]
    [Problems(400, 503)]
    public async Task<IResult> ListStatements(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/statements")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        return TypedResults.Ok(new JsonObject
        {
            ["projectId"] = projectId,
            ["items"] = await statements.ListClosedAsync(projectId, cancellationToken),
        });
    }

    [Function("GetStatement")]
    [Access(Need.Read)]
    [Answers(200, "Statement", When = "The month's statement: as it stands while open, as it was closed once closed (the same bytes each time).")]
    [Answers(200, ContentType = "text/csv", When = "With Accept: text/csv: kind,runId,month,agent,model,unit,quantity,unitPrice,amount,exactAmount.")]
    [Problems(400, 503)]
    public async Task<IResult> GetStatement(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/statements/{month}")] HttpRequest request,
        string projectId, string month, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var statement = await statements.GetAsync(projectId, month, cancellationToken);
        return Answer(request, statement);
    }

    /// <summary>
    /// Closes an ended month. Body (optional): <c>closedBy</c> (a name, recorded with the
    /// credential kind), and for a client billed in another currency <c>currency</c> (ISO 4217),
    /// <c>rate</c> (that currency per US dollar) and <c>rateDate</c> (yyyy-MM-dd): the ledger
    /// fetches no rate from anywhere.
    /// </summary>
    [Function("CloseStatement")]
    [Access(Need.Write)]
    [Body("StatementClose", Required = false)]
    [Answers(200, "Statement", When = "The closed statement; closing again answers it unchanged.")]
    [Problems(400, 409, 413, 415, 503)]
    public async Task<IResult> CloseStatement(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/statements/{month}/close")] HttpRequest request,
        string projectId, string month, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        RouteIds.CheckMonth(month);
        var body = await JsonBody.ReadOptionalObjectAsync(request, cancellationToken);
        var caller = AccessMiddleware.CallerOf(request.HttpContext);
        var closing = new CloseRequest(caller.IsAdmin ? "admin key" : "project key", Name(body), Exchange(body));
        var statement = await statements.CloseAsync(projectId, month, closing, cancellationToken);
        return Answer(request, statement);
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ContentHttpResult Answer(HttpRequest request, JsonObject statement) =>
        request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase)
            ? TypedResults.Text(Statements.Csv(statement), "text/csv; charset=utf-8")
            : TypedResults.Text(statement.ToJsonString(), "application/json; charset=utf-8");

    private static readonly HashSet<string> CloseMembers = ["closedBy", "currency", "rate", "rateDate"];

    private static string? Name(JsonObject body)
    {
        if (body.Select(m => m.Key).FirstOrDefault(k => !CloseMembers.Contains(k)) is { } unknown)
        {
            throw LedgerException.BadRequest($"'{unknown}' is not a member of a close request: closedBy, currency, rate, rateDate.");
        }
        var name = JsonBody.OptionalString(body, "closedBy");
        return name is { Length: > 200 } ? throw LedgerException.BadRequest("'closedBy' is longer than 200 characters.") : name;
    }

    [GeneratedRegex(@"\A[A-Z]{3}\z")]
    private static partial Regex CurrencyCode();

    /// <summary>The rate, when a currency is given: all three members, a code other than USD, a rate from 0.000001 to 1,000,000.</summary>
    private static Exchange? Exchange(JsonObject body)
    {
        var currency = JsonBody.OptionalString(body, "currency");
        if (currency is null)
        {
            return body.ContainsKey("rate") || body.ContainsKey("rateDate")
                ? throw LedgerException.BadRequest("'rate' and 'rateDate' go with 'currency', the client's currency.")
                : null;
        }
        if (!CurrencyCode().IsMatch(currency) || currency == "USD")
        {
            throw LedgerException.BadRequest($"'currency' must be an ISO 4217 code other than USD, e.g. EUR; got '{currency}'.");
        }
        var rate = body["rate"] switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal d) => d,
            JsonValue v when v.GetValueKind() == JsonValueKind.String
                && decimal.TryParse((string)v!, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) => d,
            _ => -1m,
        };
        if (rate is < 0.000001m or > 1_000_000m)
        {
            throw LedgerException.BadRequest($"'rate' must be a number from 0.000001 to 1000000: {currency} per US dollar.");
        }
        var rateDate = JsonBody.OptionalString(body, "rateDate");
        if (rateDate is null || !DateTime.TryParseExact(rateDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            throw LedgerException.BadRequest("'rateDate' must be the date of the rate, yyyy-MM-dd.");
        }
        return new Exchange(currency, rate, rateDate);
    }
}

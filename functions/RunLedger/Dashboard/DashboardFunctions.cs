using Microsoft.Azure.Functions.Worker;
using RunLedger.Access;
using RunLedger.Runs;
using RunLedger.Http;

namespace RunLedger.Dashboard;

/// <summary>
/// The dashboard: static pages (HTML shells, CSS, JavaScript modules shipped inside the app) that
/// read the API from the browser. The shells hold no data, so they are anonymous; what a page shows
/// comes from API calls made with the read-only token in the page's URL fragment (<c>#token=</c>),
/// which the browser never sends to a server.
/// <code>
/// GET dashboard/projects/{projectId}               DashboardProjectPage   the project's runs, live
/// GET dashboard/projects/{projectId}/runs/{runId}  DashboardRunPage       one run: timeline, artifacts, costs, invoice
/// GET dashboard/costs                              DashboardCostsPage     average and top costs, cost per run over time
/// GET dashboard/assets/{file}                      DashboardAsset         the pages' scripts and styles (a fixed list)
/// </code>
/// </summary>
public static class DashboardFunctions
{
    [Function("DashboardProjectPage")]
    [Access(Need.Anyone)]
    [RequestHeader("If-None-Match")]
    [Answers(200, ContentType = "text/html", Headers = ["ETag"])]
    [Answers(304, Headers = ["ETag"])]
    [Problems(400)]
    public static IResult ProjectPage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/projects/{projectId}")] HttpRequest request,
        string projectId)
    {
        RouteIds.CheckProject(projectId);
        return DashboardSite.Serve(request.HttpContext, "project.html");
    }

    [Function("DashboardRunPage")]
    [Access(Need.Anyone)]
    [RequestHeader("If-None-Match")]
    [Answers(200, ContentType = "text/html", Headers = ["ETag"])]
    [Answers(304, Headers = ["ETag"])]
    [Problems(400)]
    public static IResult RunPage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/projects/{projectId}/runs/{runId}")] HttpRequest request,
        string projectId, string runId)
    {
        RouteIds.CheckRun(projectId, runId);
        return DashboardSite.Serve(request.HttpContext, "run.html");
    }

    /// <summary>A client's monthly statement, to read or print.</summary>
    [Function("DashboardStatementPage")]
    [Access(Need.Anyone)]
    [RequestHeader("If-None-Match")]
    [Answers(200, ContentType = "text/html", Headers = ["ETag"])]
    [Answers(304, Headers = ["ETag"])]
    [Problems(400)]
    public static IResult StatementPage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/projects/{projectId}/statements/{month}")] HttpRequest request,
        string projectId, string month)
    {
        RouteIds.CheckProject(projectId);
        RouteIds.CheckMonth(month);
        return DashboardSite.Serve(request.HttpContext, "statement.html");
    }

    [Function("DashboardCostsPage")]
    [Access(Need.Anyone)]
    [RequestHeader("If-None-Match")]
    [Answers(200, ContentType = "text/html", Headers = ["ETag"])]
    [Answers(304, Headers = ["ETag"])]
    public static IResult CostsPage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/costs")] HttpRequest request) =>
        DashboardSite.Serve(request.HttpContext, "costs.html");

    /// <summary>Only the files shipped in <c>Dashboard/site</c> (not the pages), by exact name: no path reaches the file system.</summary>
    [Function("DashboardAsset")]
    [Access(Need.Anyone)]
    [RequestHeader("If-None-Match")]
    [Answers(200, ContentType = "text/javascript", Headers = ["ETag"])]
    [Answers(200, ContentType = "text/css", Headers = ["ETag"])]
    [Answers(200, ContentType = "image/svg+xml", Headers = ["ETag"])]
    [Answers(304, Headers = ["ETag"])]
    [Problems(404)]
    public static IResult Asset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/assets/{file}")] HttpRequest request,
        string file) =>
        DashboardSite.ServeAsset(request.HttpContext, file);
}

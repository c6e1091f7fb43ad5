using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace FunctionsHost.Bench;

/// <summary>The baseline: an empty ASP.NET Core app answering the same ping, started the same way (<c>dotnet x.dll</c>).</summary>
public static class EmptyApp
{
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var app = builder.Build();
        app.MapGet("/api/ping", () => "pong");
        await app.RunAsync();
    }
}

using System.Diagnostics;

namespace FunctionsHost.Bench;

public static class Measure
{
    /// <summary>Polls until the URL answers 200; returns the time since <paramref name="since"/>.</summary>
    public static async Task<TimeSpan> FirstOkAsync(HttpClient client, Uri url, long since)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                using var response = await client.GetAsync(url);
                if (response.IsSuccessStatusCode) return Stopwatch.GetElapsedTime(since);
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(5);
        }
        throw new TimeoutException($"{url} never answered 200.");
    }

    /// <summary>Per-call latencies of <paramref name="call"/>, after a warm-up.</summary>
    public static async Task<List<double>> LatenciesAsync(Func<Task> call, int count)
    {
        for (var i = 0; i < 50; i++) await call();
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        samples.Sort();
        return samples;
    }

    public static double Percentile(List<double> sorted, double p) => sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return Percentile(sorted, 0.5);
    }
}

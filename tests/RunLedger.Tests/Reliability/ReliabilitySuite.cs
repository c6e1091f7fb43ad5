using System.Globalization;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The fault, crash and fuzz tests run one after another (never beside each other), since each
/// loads the machine and times its own outages and restarts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReliabilitySuite
{
    public const string Name = "Reliability";

    /// <summary>
    /// The seed of a reliability test: <paramref name="fallback"/>, or <c>RELIABILITY_SEED</c> from the
    /// environment to replay a run whose figures printed another seed.
    /// </summary>
    public static int Seed(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("RELIABILITY_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : fallback;
}

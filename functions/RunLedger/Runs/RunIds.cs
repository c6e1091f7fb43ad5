using System.Globalization;
using System.Security.Cryptography;

namespace RunLedger.Runs;

/// <summary>Ids generated at the start of a pipeline, in the formats of the original ledger.</summary>
public static class RunIds
{
    /// <summary>
    /// <c>RUN_YYYYMMDD_HHmmss</c> (UTC). A retry after a collision (another start in the same
    /// second) adds a random four-digit suffix: <c>RUN_20260115_181206_4821</c>.
    /// </summary>
    public static string NewRunId(DateTimeOffset now, int attempt)
    {
        var id = "RUN_" + now.UtcDateTime.ToString("yyyyMMdd_HHmmss", CultureInfo.InvariantCulture);
        return attempt == 0 ? id : id + "_" + FourDigits();
    }

    /// <summary><c>DOSS_YYYYMMDD_NNNN</c> (UTC date, NNNN random 1000–9999).</summary>
    public static string NewDossierId(DateTimeOffset now) =>
        "DOSS_" + now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + "_" + FourDigits();

    /// <summary>Where a run's status is read: <c>/api/projects/{projectId}/runs/{runId}</c>.</summary>
    public static string StatusPath(string projectId, string runId) => $"/api/projects/{projectId}/runs/{runId}";

    private static string FourDigits() =>
        RandomNumberGenerator.GetInt32(1000, 10000).ToString(CultureInfo.InvariantCulture);
}

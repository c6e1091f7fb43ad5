namespace RunLedger.Ledger;

/// <summary>Settings under <c>RunLedger</c> (env: <c>RunLedger__TableName</c>, ...).</summary>
public sealed class LedgerOptions
{
    public const string Section = "RunLedger";

    /// <summary>The one table that holds runs, their index, events, costs and configs.</summary>
    public string TableName { get; set; } = "runs";

    /// <summary>Queue that hands started pipelines to agents.</summary>
    public string JobsQueue { get; set; } = "pipeline-jobs";

    /// <summary>Queue that agents report progress on.</summary>
    public string ProgressQueue { get; set; } = "agent-progress";

    /// <summary>
    /// Keys accepted in <c>x-functions-key</c> or <c>?code=</c> when the app serves HTTP itself.
    /// Comma-separated. Empty means no key is required (the Functions host enforces keys in Azure).
    /// </summary>
    public string FunctionKeys { get; set; } = "";

    /// <summary>Base of the link stored as a run's <c>dashboardUrl</c>; empty leaves it unset.</summary>
    public string DashboardBaseUrl { get; set; } = "";

    /// <summary>Creates the table and queues at start-up when missing (local and test runs).</summary>
    public bool CreateStorageOnStart { get; set; } = true;
}

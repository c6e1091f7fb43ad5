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

    /// <summary>
    /// Run the app's own agent-progress queue listener. Always off under the Functions host
    /// (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c> set), where the queue trigger invokes <c>/AgentProgress</c>.
    /// </summary>
    public bool ListenToQueue { get; set; } = true;

    /// <summary>Longest wait between polls of an empty queue (the listener backs off up to it).</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a message that failed stays hidden before it is retried.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Longest time one Server-Sent Events response stays open. It then ends with a <c>retry:</c>
    /// hint and the client resumes with Last-Event-ID, which also works behind proxies that buffer.
    /// </summary>
    public TimeSpan StreamMaxDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Interval of the comment lines that keep an idle stream open.</summary>
    public TimeSpan StreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A pricing file of the same shape as the shipped <c>Costs/pricing.json</c>; its models
    /// replace or add to the shipped ones. Empty uses the shipped table alone.
    /// </summary>
    public string PricingFile { get; set; } = "";
}

using System.Text.RegularExpressions;

namespace RunLedger.Ledger;

/// <summary>Settings under <c>RunLedger</c> (env: <c>RunLedger__TableName</c>, ...).</summary>
public sealed partial class LedgerOptions
{
    public const string Section = "RunLedger";

    /// <summary>The one table that holds runs, their index, events, costs and configs.</summary>
    public string TableName { get; set; } = "runs";

    /// <summary>Queue that hands started pipelines to agents.</summary>
    public string JobsQueue { get; set; } = "pipeline-jobs";

    /// <summary>Queue that agents report progress on.</summary>
    public string ProgressQueue { get; set; } = "agent-progress";

    /// <summary>Queue of completion callbacks to deliver (one message per delivery attempt).</summary>
    public string CallbacksQueue { get; set; } = "run-callbacks";

    /// <summary>How long one callback POST may take, connection included, before it counts as failed.</summary>
    public TimeSpan CallbackTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait before a failed callback's second attempt; each later wait doubles, up to <see cref="CallbackMaxRetryDelay"/>.</summary>
    public TimeSpan CallbackRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two attempts of a callback.</summary>
    public TimeSpan CallbackMaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Attempts before a callback is dead-lettered. With the default delays, 30 attempts span
    /// about 23 hours: a receiver may be down for most of a day without missing the event.
    /// </summary>
    public int CallbackMaxAttempts { get; set; } = 30;


    /// <summary>
    /// Root of the dashboard's pages in links (a run's <c>dashboardUrl</c>, minted links), e.g.
    /// <c>https://ledger.example.com/api/dashboard</c>; empty: the request's own address + <c>/api/dashboard</c>.
    /// </summary>
    public string DashboardBaseUrl { get; set; } = "";

    /// <summary>
    /// Admin keys, comma-separated: each can do everything. Without any, and in a Development
    /// environment, the API is open (as under Core Tools without keys); elsewhere only project keys
    /// and read tokens can get in. Keep them in Key Vault or the app's settings, never in code.
    /// </summary>
    public string AdminKeys { get; set; } = "";

    /// <summary>
    /// Secrets, comma-separated, that derive project keys and sign read-only links. The first mints;
    /// all verify, so a new secret goes first and the old one is removed once its keys and links are replaced.
    /// </summary>
    public string SigningSecrets { get; set; } = "";

    /// <summary>How long a read-only dashboard link lasts when its minter does not say.</summary>
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Longest lifetime a read-only link may be minted with.</summary>
    public TimeSpan MaxLinkLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Creates the table and queues at start-up when missing (local and test runs).</summary>
    public bool CreateStorageOnStart { get; set; } = true;

    /// <summary>
    /// CRON schedule of the stale sweep. The host reads it (the timer's <c>%RunLedger__StaleSweepSchedule%</c>),
    /// so it must be set as an app setting; the value here only documents the default.
    /// </summary>
    public string StaleSweepSchedule { get; set; } = DefaultStaleSweepSchedule;

    public const string DefaultStaleSweepSchedule = "0 */5 * * * *";

    /// <summary>CRON schedule of the retention purge; like the sweep's, read by the host and required as a setting.</summary>
    public string RetentionSchedule { get; set; } = DefaultRetentionSchedule;

    public const string DefaultRetentionSchedule = "0 30 3 * * *";

    /// <summary>Final runs that ended more than this many days ago are deleted by the retention purge; 0 keeps them all.</summary>
    public int RetentionDays { get; set; }




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

    /// <summary>Null when the storage names are usable, else what is wrong (checked at start-up).</summary>
    public static string? Problem(LedgerOptions options)
    {
        if (!TableNamePattern().IsMatch(options.TableName) || string.Equals(options.TableName, "tables", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{options.TableName}' is not a valid table name: 3-63 letters or digits, starting with a letter, and not 'tables'.";
        }
        if (options.RetentionDays < 0)
        {
            return $"RetentionDays must be 0 (keep every run) or a number of days; got {options.RetentionDays}.";
        }
        if (options.CallbackTimeout <= TimeSpan.Zero || options.CallbackTimeout > TimeSpan.FromMinutes(1))
        {
            return $"'RunLedger__CallbackTimeout' must be more than zero and at most a minute; got {options.CallbackTimeout}.";
        }
        if (options.CallbackRetryDelay <= TimeSpan.Zero || options.CallbackMaxRetryDelay < options.CallbackRetryDelay
            || options.CallbackMaxRetryDelay > TimeSpan.FromDays(6))
        {
            return "'RunLedger__CallbackRetryDelay' must be more than zero and at most 'RunLedger__CallbackMaxRetryDelay', which is at most 6 days (a queue message's longest delay is 7).";
        }
        if (options.CallbackMaxAttempts is < 1 or > 100)
        {
            return $"'RunLedger__CallbackMaxAttempts' must be from 1 to 100; got {options.CallbackMaxAttempts}.";
        }
        foreach (var queue in new[] { options.JobsQueue, options.ProgressQueue, options.ProgressQueue + "-poison", options.CallbacksQueue })
        {
            if (!QueueNamePattern().IsMatch(queue) || queue.Contains("--", StringComparison.Ordinal))
            {
                return $"'{queue}' is not a valid queue name: 3-63 lower-case letters, digits or single dashes, starting and ending with a letter or digit.";
            }
        }
        return null;
    }

    [GeneratedRegex(@"\A[A-Za-z][A-Za-z0-9]{2,62}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TableNamePattern();

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\z", RegexOptions.CultureInvariant)]
    private static partial Regex QueueNamePattern();
}

/// <summary>Refuses to start with storage names the services would reject, saying which and why.</summary>
public sealed class LedgerOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<LedgerOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, LedgerOptions options) =>
        LedgerOptions.Problem(options) is { } problem
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problem)
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;
}

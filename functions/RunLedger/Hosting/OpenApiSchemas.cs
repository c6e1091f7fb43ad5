using System.Text.Json.Nodes;
using RunLedger.Costs;
using RunLedger.Runs;

namespace RunLedger.Hosting;

/// <summary>
/// The API's vocabulary for the OpenAPI document: the bodies the functions read and write
/// (components/schemas), and the meaning of each query parameter and header. Each schema says
/// what the code writes (the handler named in its description); <c>required</c> lists only the
/// members always written. Objects stay open (clients may add fields to a run, and the ledger may
/// add members), except where the code refuses other members.
/// </summary>
public static class OpenApiSchemas
{
    private const string IdPattern = "^[A-Za-z0-9_.-]{1,128}$";
    private const string ExactDollars = "^-?[0-9]+\\.[0-9]{6}$";

    public static JsonObject Schemas() => new()
    {
        ["Problem"] = Obj("An RFC 9457 problem (application/problem+json), written by Http/ProblemMiddleware for every refusal.",
            ["title", "status", "detail"],
            ("type", Str("A URI naming the kind of problem, where one is defined for the status.")),
            ("title", Str("The kind of problem, e.g. 'Invalid request'.")),
            ("status", Int("The HTTP status.")),
            ("detail", Str("What exactly is wrong, naming the field or value.")),
            ("instance", Str())),

        ["Health"] = Obj("The service is up.", ["status"], ("status", Enum("healthy"))),
        ["OpenApi"] = new JsonObject { ["type"] = "object", ["description"] = "This document (OpenAPI 3.0)." },

        ["Run"] = Obj("A run (Runs/RunStore, Pipelines/PipelineStarter, Progress/ReportEffects, Dashboard/RunLinks). " +
                      "Clients may add fields of their own with PATCH; those come back as sent.",
            ["projectId", "runId", "status", "triggeredBy", "createdAt", "updatedAt", "seedData", "configSnapshot",
             "totalTokens", "totalCost", "totalCostMicros", "dashboardUrl"],
            RunFields(summary: false)),
        ["RunSummary"] = Obj("A run as its project's list shows it: the run's own fields without its data (Runs/RunStore.IndexFields).",
            ["projectId", "runId", "status", "createdAt", "updatedAt", "dashboardUrl"],
            RunFields(summary: true)),
        ["RunList"] = Obj("One page of a project's runs, newest first.", ["items", "continuationToken"],
            ("items", Array(Ref("RunSummary"))),
            ("continuationToken", Nullable(Str("Pass as continuationToken for the next page; null on the last page.")))),

        ["Event"] = Obj("One entry of a run's history: an agent's report (Progress/ProgressReport.ToEvent) or the ledger's own (Lifecycle/LedgerEvents).",
            ["seq", "eventId", "projectId", "runId", "agent", "status", "timestamp", "recordedAt"],
            ("seq", Int("Its place in the run's history: 1, 2, 3... in the order applied.")),
            ("eventId", Str()),
            ("projectId", Id()),
            ("runId", Id()),
            ("agent", Str("The reporting agent; 'ledger' for the ledger's own events.")),
            ("source", EnumOf("'ledger' on the ledger's own events (a cancel, the stale sweep); absent on agents' reports.", "ledger")),
            ("status", RunStatusSchema("The agent's (or the ledger's) status in this report.")),
            ("message", Str()),
            ("progress", Num("0 to 100.")),
            ("runStatus", RunStatusSchema("The run status the report asked for, or the run's status after a ledger event.")),
            ("usage", Ref("Usage")),
            ("artifacts", StringMap("Artifact name to key or URL.")),
            ("metadata", new JsonObject { ["type"] = "object", ["description"] = "Per-agent metadata objects, e.g. voice, music.", ["additionalProperties"] = new JsonObject { ["type"] = "object" } }),
            ("error", Str()),
            ("timestamp", Time("When it happened: the agent's time, or the arrival when that was implausible.")),
            ("agentTimestamp", Time("The agent's own timestamp, when it was replaced.")),
            ("recordedAt", Time("When the ledger applied it."))),
        ["EventPage"] = Obj("One page of a run's history, oldest first.", ["items", "next"],
            ("items", Array(Ref("Event"))),
            ("next", Nullable(Int("Pass as 'after' for the next page; null when this page is the last.")))),
        ["Usage"] = Obj("What a step used; priced from the pricing table unless costUsd is given.", [],
            [("model", Str()), .. UsageUnit.All.Select(u => (u.Figure, Num($"A number of at least 0 ({u.Label}).", minimum: 0))),
             ("costUsd", Num("The step's cost in dollars, when the agent knows it.", minimum: 0))]),

        ["RunCosts"] = Obj("A run's cost rows, exact totals and invoice (Costs/CostsFunctions.GetRunCosts).",
            ["projectId", "runId", "status", "totalTokens", "totalCost", "totalCostMicros", "unpricedSteps", "rows", "invoice", "invoiceFinal"],
            ("projectId", Id()), ("runId", Id()), ("status", RunStatusSchema()),
            ("totalTokens", Int()), ("totalCost", Dollars4()), ("totalCostMicros", Micros()),
            ("unpricedSteps", Int("Steps whose usage had no price.")),
            ("rows", Array(Ref("CostRow"))),
            ("invoice", Ref("Invoice")),
            ("invoiceFinal", Bool("Whether the run is final, so the invoice changes no more (late costs still count)."))),
        ["CostRow"] = Obj("One report's cost (Costs/CostLedger.Record).",
            ["seq", "eventId", "agent", "usage", "parts", "tokens", "costUsd", "costMicros", "priceSource", "reportedAt", "recordedAt"],
            ("seq", Int()), ("eventId", Str()), ("agent", Str()), ("model", Nullable(Str())),
            ("usage", Ref("Usage")),
            ("parts", Array(Obj("One usage figure, priced.", ["figure", "quantity", "unit", "costUsd"],
                ("figure", Str()), ("quantity", Num()), ("unit", Str()),
                ("unitPrice", Nullable(Num("Dollars per unit; null when unpriced."))), ("costUsd", Exact())))),
            ("tokens", Int()), ("costUsd", Exact()), ("costMicros", Micros()),
            ("priceSource", EnumOf("computed: priced from the price book; project: at least one unit at the project's negotiated rate; reported: the agent's costUsd; unpriced: no price known.",
                [CostLedger.Computed, CostLedger.Project, CostLedger.Reported, CostLedger.Unpriced])),
            ("computedCostUsd", Nullable(Exact())),
            ("pricedWith", Obj("The price entries used: model id and the date their prices took effect (rows recorded before this was kept lack it).", [],
                ("project", Nullable(PriceTrace())), ("book", Nullable(PriceTrace())))),
            ("reportedAt", Time()), ("recordedAt", Time())),
        ["Invoice"] = Obj("The cost-plus invoice (Costs/Invoice.Build): cents, rounded once, lines adding up to the subtotal.",
            ["currency", "lineItems", "subtotal", "markupRate", "markup", "total", "exactSubtotal", "rounding"],
            ("currency", Enum("USD")),
            ("lineItems", Array(Obj("One line: an agent's use of one unit at one price.", ["agent", "quantity", "unit", "amount", "exactAmount", "priced"],
                ("agent", Str()), ("model", Nullable(Str())), ("quantity", Num()), ("unit", Str()),
                ("unitPrice", Nullable(Num())), ("amount", Num("Dollars and cents.")), ("exactAmount", Exact()), ("priced", Bool())))),
            ("subtotal", Num("Dollars and cents.")), ("markupRate", Num("0.20 is 20%.")), ("markup", Num("Dollars and cents.")),
            ("total", Num("Dollars and cents.")), ("exactSubtotal", Exact()), ("rounding", Str("The rounding rule, in words."))),
        ["CostSummary"] = Obj("Over completed runs (Costs/CostsFunctions.GetSummary).",
            ["projectId", "from", "to", "runCount", "averageCost", "averageTokens", "totalCost", "totalCostMicros", "totalTokens"],
            ("projectId", Nullable(Id())), ("from", Nullable(Time())), ("to", Nullable(Time())),
            ("runCount", Int()), ("averageCost", Num("Dollars, four decimals.")), ("averageTokens", Num("Two decimals.")),
            ("totalCost", Dollars4()), ("totalCostMicros", Micros()), ("totalTokens", Int())),
        ["TopRuns"] = Obj("The most expensive completed runs, costliest first.", ["items"],
            ("items", Array(Obj("A completed run's cost.", ["projectId", "runId", "totalCost", "totalCostMicros", "totalTokens", "completedAt"],
                ("projectId", Id()), ("runId", Id()), ("totalCost", Dollars4()), ("totalCostMicros", Micros()),
                ("totalTokens", Int()), ("completedAt", Nullable(Time())))))),

        ["Counts"] = Obj("A project's runs per status, and how many active ones are stale (Runs/RunCounts.ToJson).",
            ["projectId", "total", .. RunStatus.All, "stale"],
            [("projectId", Id()), ("total", Int()), .. RunStatus.All.Select(s => (s, Int())), ("stale", Int())]),
        ["Budget"] = Obj("A project's month-to-date spend against its budget, and this month's alerts (Budgets/BudgetLedger.ShowAsync).",
            ["projectId", "month", "spendUsd", "spendMicros", "monthlyUsd", "alertAt", "crossed", "remainingUsd", "alerts"],
            ("projectId", Id()), ("month", Str("The month (UTC), e.g. 2026-01.", pattern: "^[0-9]{4}-[0-9]{2}$")),
            ("spendUsd", Exact()), ("spendMicros", Micros()),
            ("monthlyUsd", Nullable(Exact("The monthly limit; null without a budget."))),
            ("alertAt", Nullable(Array(Num(), "Fractions of the limit that raise an alert; null without a budget."))),
            ("crossed", Array(Num(), "Fractions crossed this month.")),
            ("remainingUsd", Nullable(Exact("Negative once over the limit; null without a budget."))),
            ("alerts", Array(Ref("CallbackDelivery"), "This month's budget alert deliveries."))),

        ["Statement"] = Obj("A project's monthly statement (Billing/Statements): the costs whose usage fell in the month (UTC), " +
                            "adjustments for costs that reached months already closed, and the cost-plus totals, rounded as a run's invoice is.",
            ["statementId", "projectId", "month", "from", "to", "status", "runs", "byAgent", "byModel", "byUnit", "adjustments", "subtotalMicros",
             "closedAt", "closedBy", "exchange", "currency", "lineItems", "subtotal", "markupRate", "markup", "total", "exactSubtotal", "rounding"],
            ("statementId", Nullable(Str("STMT_YYYYMM_NNNN once closed; null while open.", pattern: "^STMT_[0-9]{6}_[0-9]{4,}$"))),
            ("projectId", Id()), ("month", Str("yyyy-MM (UTC).", pattern: "^[0-9]{4}-[0-9]{2}$")),
            ("from", Time("The month's first instant.")), ("to", Time("The next month's first instant.")),
            ("status", Enum("open", "closed")),
            ("runs", Array(Obj("A run with costs in the month.", ["runId", "costRows", "exactAmount"],
                ("runId", Id()), ("costRows", Int()), ("exactAmount", Exact())))),
            ("byAgent", Array(Obj("Exact amount per agent.", ["agent", "exactAmount"], ("agent", Nullable(Str())), ("exactAmount", Exact())))),
            ("byModel", Array(Obj("Exact amount per model.", ["model", "exactAmount"], ("model", Nullable(Str())), ("exactAmount", Exact())))),
            ("byUnit", Array(Obj("Exact amount per unit.", ["unit", "exactAmount"], ("unit", Nullable(Str())), ("exactAmount", Exact())))),
            ("adjustments", Array(Obj("A cost of a closed month, billed here.", ["runId", "month", "agent", "exactAmount", "recordedAt", "reason"],
                ("runId", Id()), ("month", Str("The month it belongs to.")), ("eventId", Nullable(Str())), ("agent", Str()), ("model", Nullable(Str())),
                ("exactAmount", Exact()), ("recordedAt", Time()), ("reason", Str())))),
            ("subtotalMicros", Micros()),
            ("closedAt", Nullable(Time())),
            ("closedBy", Nullable(Obj("Who closed it.", ["credential"], ("credential", Enum("admin key", "project key")), ("name", Nullable(Str()))))),
            ("exchange", Nullable(Obj("The totals in the client's currency, at the rate given when closing.", ["currency", "rate", "rateDate", "subtotal", "markup", "total", "rounding"],
                ("currency", Str(pattern: "^[A-Z]{3}$")), ("rate", Str("That currency per US dollar, exactly as given.")), ("rateDate", Str(pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")),
                ("subtotal", Num()), ("markup", Num()), ("total", Num()), ("rounding", Str())))),
            ("currency", Enum("USD")),
            ("lineItems", Array(Obj("One line: an agent's use of one unit at one price, or an adjustment.", ["agent", "quantity", "unit", "amount", "exactAmount", "priced"],
                ("agent", Str()), ("model", Nullable(Str())), ("quantity", Num()), ("unit", Str()),
                ("unitPrice", Nullable(Num())), ("amount", Num("Dollars and cents.")), ("exactAmount", Exact()), ("priced", Bool())))),
            ("subtotal", Num("Dollars and cents.")), ("markupRate", Num("The project's, 0.20 is 20%.")), ("markup", Num("Dollars and cents.")),
            ("total", Num("Dollars and cents.")), ("exactSubtotal", Exact()), ("rounding", Str())),
        ["StatementList"] = Obj("A project's closed statements, oldest first.", ["projectId", "items"],
            ("projectId", Id()),
            ("items", Array(Obj("A closed statement.", ["month", "statementId", "closedAt", "total", "currency"],
                ("month", Str()), ("statementId", Str()), ("closedAt", Time()), ("total", Num()), ("currency", Enum("USD")))))),
        ["StatementClose"] = Obj("Closing a statement; every member optional.", [], false,
            ("closedBy", Str("Who closes it (recorded with the credential kind).", maxLength: 200)),
            ("currency", Str("The client's currency (ISO 4217, not USD), when billed in another.", pattern: "^[A-Z]{3}$")),
            ("rate", new JsonObject { ["description"] = "That currency per US dollar (a number or a decimal string), 0.000001 to 1000000." }),
            ("rateDate", Str("The date of the rate, yyyy-MM-dd.", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))),

        ["Overview"] = Obj("Every client (project with runs) this month, for the agency (Billing/OverviewFunctions).", ["month", "currency", "subtotal", "markup", "total", "projects"],
            ("month", Str(pattern: "^[0-9]{4}-[0-9]{2}$")), ("currency", Enum("USD")),
            ("subtotal", Num("All projects, dollars and cents.")), ("markup", Num()), ("total", Num()),
            ("projects", Array(Obj("One client.", ["projectId", "month", "subtotal", "markup", "total", "exactSubtotal", "activeRuns", "staleRuns", "budget", "lastMonth", "links"],
                ("projectId", Id()), ("month", Str()),
                ("subtotal", Num("This month so far, as its statement stands.")), ("markup", Num()), ("total", Num()), ("exactSubtotal", Exact()),
                ("activeRuns", Nullable(Int("Queued and running."))), ("staleRuns", Nullable(Int())),
                ("budget", Nullable(Obj("This month against the budget; null without one.", ["month", "monthlyUsd", "spendUsd", "remainingUsd"],
                    ("month", Str()), ("monthlyUsd", Exact()), ("spendUsd", Exact()), ("remainingUsd", Exact())))),
                ("lastMonth", Obj("Last month's statement.", ["month", "status", "total"],
                    ("month", Str()), ("status", Enum("open", "closed")), ("statementId", Nullable(Str())), ("total", Num()))),
                ("links", Obj("Where to look.", ["statement", "lastStatement", "dashboard", "printableStatement"],
                    ("statement", Str()), ("lastStatement", Str()), ("dashboard", Str()), ("printableStatement", Str()))))))),

        ["RepriceRequest"] = Obj("Which costs to price again: those reported from 'from' to 'to' (both included).", ["from", "to"], false,
            ("from", Str("ISO 8601 date (its whole day, UTC) or date and time.")), ("to", Str("ISO 8601 date (its whole day, UTC) or date and time.")),
            ("dryRun", Bool("Default true: answer the differences and change nothing.")),
            ("includeReported", Bool("Default false: costs the agent reported keep them; true prices them too where a price is known."))),
        ["Reprice"] = Obj("A reprice (Billing/Repricing): a dry run's differences, or the audit record of an applied one.", ["repriceId", "projectId", "from", "to", "includeReported", "priceBookVersion", "runs"],
            ("repriceId", Str("Names the request and the price book it priced with.")), ("projectId", Id()),
            ("dryRun", Bool()), ("state", EnumOf("An applied reprice's record: applying while runs remain, applied once done.", "applying", "applied")),
            ("by", Str("The credential kind that applied it.")), ("startedAt", Time()), ("appliedAt", Nullable(Time())),
            ("from", Time()), ("to", Time()), ("includeReported", Bool()), ("priceBookVersion", Str()),
            ("runs", new JsonObject
            {
                ["type"] = "object",
                ["description"] = "Per run id: cost rows in the window, rows changed, old and new cost and the difference (exact dollars).",
                ["additionalProperties"] = Obj("One run.", ["costRows", "changedRows", "oldCostUsd", "newCostUsd", "differenceUsd"],
                    ("costRows", Int()), ("changedRows", Int()), ("oldCostUsd", Exact()), ("newCostUsd", Exact()), ("differenceUsd", Exact())),
            }),
            ("oldCostUsd", Exact()), ("newCostUsd", Exact()), ("differenceUsd", Exact())),
        ["ModelPricing"] = Obj("One model's entry in the price book, in the shape of pricing.json's models (Costs/PriceBook).", ["id", "prefixes", "prices"],
            ("id", Str("The model id; matched case-insensitively, then by the longest prefix.")),
            ("prefixes", Array(Str(), "Model names starting with one of these use this entry.")),
            ("prices", Array(Obj("The prices from one date on, as decimal strings or numbers.", ["effective"],
                [("effective", Str("The date (or date and time, UTC) the prices take effect.")),
                 .. UsageUnit.All.Select(u => (u.PriceField, new JsonObject { ["description"] = $"Dollars per {u.Label}." }))])))),
        ["ModelPricingRequest"] = Obj("One model's prices to add or replace: the shape of one model in pricing.json; the id is the address's.", ["prices"], false,
            ("id", Str("When given, the address's model id.")),
            ("prefixes", Array(Str(), "Model names starting with one of these use this entry.")),
            ("prices", Array(Obj("The prices from one date on, as decimal strings or numbers.", ["effective"],
                [("effective", Str("The date (or date and time, UTC) the prices take effect.")),
                 .. UsageUnit.All.Select(u => (u.PriceField, new JsonObject { ["description"] = $"Dollars per {u.Label}." }))])))),
        ["PriceBook"] = Obj("The price book: the shipped file's models and those added through the API (Costs/PriceBook.ShowAsync).", ["version", "models"],
            ("version", Str("A hash of every price in the book: what a reprice records it priced with.")),
            ("models", Array(Obj("A model's prices.", ["id", "prefixes", "prices", "source"],
                ("id", Str()), ("prefixes", Array(Str())),
                ("prices", Array(Obj("Prices from one date on.", ["effective"], [("effective", Time()), .. UsageUnit.All.Select(u => (u.PriceField, Str($"Dollars per {u.Label}.")))]))),
                ("source", EnumOf("file: the shipped pricing.json (or RunLedger:PricingFile); api: added or changed through the API.", "file", "api")))))),

        ["CallbackDelivery"] = Obj("One callback delivery and its attempts (Callbacks/CallbackOutbox.Show). A read-only link sees the URL's origin only.",
            ["deliveryId", "event", "url", "state", "attempts", "createdAt", "lastAttemptAt", "nextAttemptAt", "deliveredAt", "lastOutcome", "responseExcerpt", "history", "body"],
            ("deliveryId", Str()),
            ("event", Enum([.. Callbacks.CallbackConfig.Events])),
            ("url", Str()),
            ("state", Enum([Callbacks.OutboxFields.Pending, Callbacks.OutboxFields.Sending, Callbacks.OutboxFields.Delivered, Callbacks.OutboxFields.DeadLettered])),
            ("attempts", Int()),
            ("createdAt", Nullable(Time())), ("lastAttemptAt", Nullable(Time())),
            ("nextAttemptAt", Nullable(Time("While pending."))), ("deliveredAt", Nullable(Time())),
            ("lastOutcome", Nullable(Str())), ("responseExcerpt", Nullable(Str())),
            ("history", Array(Obj("One attempt.", ["attempt", "at", "outcome", "durationMs"],
                ("attempt", Int()), ("at", Time()), ("status", Nullable(Int("The receiver's HTTP status; null when none came."))),
                ("outcome", Str()), ("durationMs", Int())))),
            ("body", new JsonObject { ["type"] = "object", ["description"] = "The JSON body delivered (signed)." })),
        ["CallbackList"] = Obj("A run's callback deliveries.", ["projectId", "runId", "items"],
            ("projectId", Id()), ("runId", Id()), ("items", Array(Ref("CallbackDelivery")))),

        ["Config"] = Obj("A project's stored config (Projects/ConfigFunctions), as sent: other members are kept too. " +
                         "Each run freezes a copy at start, without callback secrets (configSnapshot).", [],
            ("pipeline", new JsonObject
            {
                ["description"] = "Checked when it is an object.",
                ["properties"] = new JsonObject
                {
                    ["finalAgent"] = new JsonObject { ["description"] = "The agent whose completed report completes the run (used when a string)." },
                    ["staleAfter"] = Str("ISO 8601 duration (more than zero, at most a year) after which an idle active run is stale, e.g. PT2H."),
                    ["failWhenStale"] = Bool("Whether the stale sweep fails a stale run rather than marking it."),
                },
            }),
            ("invoice", Obj("Invoice settings.", [], ("markupRate", Num("0 to 10; 0.20 (the default) is 20%.", minimum: 0, maximum: 10)))),
            ("pricing", Obj("The project's negotiated rates, before the price book's, unit by unit; frozen in each run at start.", ["models"], false,
                ("models", Array(new JsonObject { ["description"] = "Models in the shape of pricing.json's: id, prefixes, prices (effective date and unit prices)." },
                    $"At most {PricingTable.MaxProjectModels}.")))),
            ("budget", Obj("A monthly budget.", ["monthlyUsd"], false,
                ("monthlyUsd", Num("Dollars above 0, at most 1,000,000,000, at most 6 decimals.")),
                ("alertAt", Array(Num(), "1 to 10 fractions of the limit (default 0.5, 0.8, 1.0)")))),
            ("callbacks", Array(Obj("A completion, stale or budget callback.", ["url", "events", "secret"], false,
                ("url", Str("An absolute https URL.")),
                ("events", Array(Enum([.. Callbacks.CallbackConfig.Events]))),
                ("secret", Str("16 to 256 characters; signs each delivery. Never part of a run.", minLength: 16, maxLength: 256))),
                "At most 5."))),

        ["DeadLetter"] = Obj("A queue message that can never be applied, with the reason (Runs/DeadLetters).",
            ["reason", "source", "messageId", "dequeueCount", "insertedAt", "recordedAt", "originalText"],
            ("reason", Str()), ("source", Str("The queue it came from: agent-progress or run-callbacks.")),
            ("messageId", Str()), ("dequeueCount", Int()), ("insertedAt", Time()), ("recordedAt", Time()),
            ("originalText", Str("The message as received (its first 200,000 characters)."))),
        ["DeadLetterList"] = Obj("One page of dead letters.", ["items", "continuationToken"],
            ("items", Array(Ref("DeadLetter"))),
            ("continuationToken", Nullable(Str("Pass as continuationToken for the next page; null on the last page.")))),

        ["ProjectKey"] = Obj("A project's key: reads and writes that project only.", ["projectId", "key"],
            ("projectId", Id()), ("key", Str("rlk_…; send it as x-functions-key."))),
        ["ReadOnlyLink"] = Obj("A signed, expiring, read-only dashboard link.", ["projectId", "runId", "expiresAt", "token", "url"],
            ("projectId", Id()), ("runId", Nullable(Id())), ("expiresAt", Time()),
            ("token", Str("rlt_…; reads the project (or the run) until it expires.")),
            ("url", Str("The dashboard page, with the token in its fragment."))),
        ["ProgressAccepted"] = Obj("The report was applied.", ["eventId", "seq", "duplicate", "runStatus"],
            ("eventId", Str()), ("seq", Int()), ("duplicate", Const(false)), ("runStatus", RunStatusSchema("Where the run stands: stop once it is final."))),
        ["ProgressDuplicate"] = Obj("The report had been applied already; nothing changed.", ["eventId", "duplicate", "runStatus"],
            ("eventId", Str()), ("duplicate", Const(true)), ("runStatus", RunStatusSchema("Where the run stands: stop once it is final."))),

        ["StartRequest"] = Obj("Starts a pipeline (Pipelines/StartRequest). Retries are safe: the same Idempotency-Key, or the same runId, with the same body answers the first run.",
            [],
            ("projectId", Id("Required, or its alias clientId.")), ("clientId", Id("Alias of projectId.")),
            ("runId", Id("Optional; generated when absent. Not 'latest' or 'counts'.")),
            ("dossierId", Id("Optional; generated when absent.")),
            ("triggeredBy", Str("make.com, api (the default) or manual, any case.")),
            ("seedData", new JsonObject { ["type"] = "object", ["description"] = "Kept on the run as sent, and sent to the agents." }),
            ("config", Ref("Config"))),
        ["RunPatch"] = Obj("A partial run, deep-merged into it (RFC 7396: null removes). Fields the ledger sets are refused; any other field is kept.",
            [],
            [("status", Str("Forward only: queued → running → completed | failed | cancelled (aliases accepted, any case).")),
            ("progress", Num("0 to 100.", minimum: 0, maximum: 100)),
            ("triggeredBy", Str("make.com, api or manual.")),
            ("dossierId", Str()), ("step", Str()), ("message", Str()), ("error", Str()), ("pipelineMode", Str()),
            .. RunRules.ArtifactFields.Select(f => (f, Str())),
            ("voice", new JsonObject { ["type"] = "object" }), ("music", new JsonObject { ["type"] = "object" })]),
        ["ProgressReport"] = Obj("An agent's progress report (Progress/ProgressReport); the same as a message on the progress queue. " +
                                 "projectId and runId, when given, must match the URL.", [],
            ("projectId", Id()), ("clientId", Id("Alias of projectId.")), ("runId", Id()),
            ("eventId", Str("Makes the report idempotent; else the Idempotency-Key header; else new.", minLength: 1, maxLength: 256)),
            ("agent", Id("Default 'pipeline'.")),
            ("status", Str("The agent's status (default running); the final agent's completed completes the run.")),
            ("runStatus", Str("A run status to move the run to.")),
            ("message", Str()), ("progress", Num("0 to 100.", minimum: 0, maximum: 100)),
            ("usage", Ref("Usage")), ("costUsd", Num("Same as usage.costUsd.", minimum: 0)),
            ("artifacts", StringMap("Artifact name to key or URL.")),
            ("metadata", new JsonObject { ["type"] = "object", ["additionalProperties"] = new JsonObject { ["type"] = "object" } }),
            ("error", Str()),
            ("timestamp", Time("The agent's time; replaced by the arrival when more than 5 minutes off."))),
        ["CancelRequest"] = Obj("Why the run is cancelled (optional; no body is fine).", [], false,
            ("reason", Str(maxLength: Lifecycle.RunCanceller.MaxReasonLength))),
        ["LinkRequest"] = Obj("What a read-only link shows (optional; no body: the whole project, for the default lifetime).", [],
            ("runId", Id("Only this run.")),
            ("expiresIn", Str("ISO 8601 duration, e.g. PT1H or P7D; at most RunLedger__MaxLinkLifetime."))),
    };

    /// <summary>The query parameters the API knows, by name; a function's <c>[Query]</c> picks them.</summary>
    public static JsonObject Query(string name, int maximum, int fallback) => name switch
    {
        "limit" => Param(name, "query", "Page size.", new JsonObject
        {
            ["type"] = "integer", ["format"] = "int32", ["minimum"] = 1, ["maximum"] = maximum, ["default"] = fallback,
        }),
        "status" => Param(name, "query", "Only runs with this status (or alias), any case.", Str()),
        "continuationToken" => Param(name, "query", "The continuationToken of the previous page.", Str()),
        "after" => Param(name, "query", "Events after this sequence number (Last-Event-ID, when sent, wins).", Int(minimum: 0)),
        "from" => Param(name, "query", "Completed at or after: an ISO 8601 date or date and time (UTC unless an offset is given).", Str()),
        "to" => Param(name, "query", "Completed at or before: an ISO 8601 date or date and time.", Str()),
        "projectId" => Param(name, "query", "One project; without it every project, which needs an admin key.", Id()),
        _ => throw new InvalidOperationException($"No description of the query parameter '{name}'."),
    };

    /// <summary>The request headers the API reads, by name.</summary>
    public static JsonObject RequestHeader(string name) => name switch
    {
        "Idempotency-Key" => Param(name, "header",
            "Makes a retry safe: a start with a key used before answers the run it created (422 if the body differs); a report without eventId takes it as its event id.",
            Str(minLength: 1, maxLength: 256)),
        "If-Match" => Param(name, "header", "The run's ETag as read; 412 when the run has changed since. Absent or *: no check.", Str()),
        "Last-Event-ID" => Param(name, "header", "Resume after this event (sequence number), as EventSource sends it.", Str(pattern: "^[0-9]+$")),
        "If-None-Match" => Param(name, "header", "The ETag of the copy held; 304 when it is still current.", Str()),
        _ => throw new InvalidOperationException($"No description of the request header '{name}'."),
    };

    /// <summary>The response headers the API sets, by name.</summary>
    public static JsonObject ResponseHeader(string name) => name switch
    {
        "ETag" => new JsonObject { ["description"] = "The version answered: for If-Match (a run) or If-None-Match (a dashboard file).", ["schema"] = Str() },
        "Location" => new JsonObject { ["description"] = "Where to follow up: the run (a start) or its events (a report).", ["schema"] = Str() },
        "Retry-After" => new JsonObject { ["description"] = "Seconds to wait before retrying.", ["schema"] = Int() },
        _ => throw new InvalidOperationException($"No description of the response header '{name}'."),
    };

    /// <summary>What each problem status means across the API.</summary>
    public static string Problem(int status) => status switch
    {
        400 => "The request is invalid; the detail names the field or value.",
        401 => "No credential, or one that is not valid (x-functions-key header or code query parameter).",
        403 => "The credential does not grant this: another project or run, read-only, or not an admin.",
        404 => "Not found; the detail says what.",
        409 => "The run's state does not allow it (a final run, a backwards status, a runId started with another body).",
        412 => "If-Match does not match: the run has changed since it was read.",
        413 => "The body is over 1 MiB, or the change would make what is stored too large.",
        415 => "The body is not JSON.",
        422 => "This Idempotency-Key was first used with a different body.",
        500 => "An unexpected failure, not a fault of the request.",
        501 => "Not configured: the app has no signing secret (RunLedger__SigningSecrets).",
        503 => "The ledger's storage is busy or unreachable; retry after Retry-After seconds.",
        _ => throw new InvalidOperationException($"No description of problem status {status}."),
    };

    private static IEnumerable<(string, JsonObject)> RunFields(bool summary)
    {
        List<(string Name, JsonObject Schema)> fields =
        [
            ("projectId", Id()), ("runId", Id()), ("dossierId", Id()),
            ("status", RunStatusSchema()),
            ("step", Str("The agent at work, or queued.")), ("message", Str()), ("progress", Num("0 to 100.")), ("error", Str()),
            ("stale", Bool("Set by the stale sweep on an idle active run; cleared by its next change.")),
            ("staleSince", Time()), ("cancelReason", Str()),
            ("triggeredBy", Enum([.. RunRules.TriggerSources])),
            ("createdAt", Time()), ("updatedAt", Time()), ("startedAt", Time()), ("completedAt", Time()),
            .. RunRules.ArtifactFields.Select(f => (f, Str())),
            ("pipelineMode", Str()),
            ("dashboardUrl", Str("The run's dashboard page; with a fresh read token in its fragment when the caller holds a key.")),
            ("voice", new JsonObject { ["type"] = "object", ["description"] = "Voice metadata (voiceId, modelId, characters, costCents, placeholder, store, ...)." }),
            ("music", new JsonObject { ["type"] = "object", ["description"] = "Music metadata (mode, bpm, duration, promptHash, ...)." }),
            ("artifacts", new JsonObject { ["description"] = "Artifact keys and URLs from agents' reports, by name (an object of strings unless a PATCH set it otherwise)." }),
            ("totalTokens", Int()), ("totalCost", Dollars4()), ("totalCostMicros", Micros()),
            ("unpricedSteps", Int("Steps whose usage had no price; absent when none.")),
            ("invoice", Ref("Invoice")),
            ("seedData", new JsonObject { ["type"] = "object", ["description"] = "As the start sent it." }),
            ("configSnapshot", new JsonObject { ["type"] = "object", ["description"] = "The project's config merged with the start's, frozen at start, without callback secrets (a read-only link sees callback URLs' origins only)." }),
        ];
        return summary ? fields.Where(f => RunStore.IndexFields.Contains(f.Name)) : fields;
    }

    private static JsonObject Param(string name, string location, string description, JsonObject schema) => new()
    {
        ["name"] = name, ["in"] = location, ["description"] = description, ["required"] = false, ["schema"] = schema,
    };

    public static JsonObject Ref(string name) => new() { ["$ref"] = "#/components/schemas/" + name };

    private static JsonObject Obj(string description, IEnumerable<string> required, params IEnumerable<(string Name, JsonObject Schema)> properties) =>
        Obj(description, required, true, properties);

    private static JsonObject Obj(string description, IEnumerable<string> required, bool open, params IEnumerable<(string Name, JsonObject Schema)> properties)
    {
        var schema = new JsonObject { ["type"] = "object", ["description"] = description };
        var names = required.ToList();
        if (names.Count > 0) schema["required"] = new JsonArray([.. names.Select(n => (JsonNode)n)]);
        schema["properties"] = new JsonObject(properties.Select(p => KeyValuePair.Create(p.Name, (JsonNode?)p.Schema)));
        if (!open) schema["additionalProperties"] = false;
        return schema;
    }

    private static JsonObject Str(string? description = null, string? pattern = null, int minLength = 0, int maxLength = 0)
    {
        var schema = With(new JsonObject { ["type"] = "string" }, description);
        if (pattern is not null) schema["pattern"] = pattern;
        if (minLength > 0) schema["minLength"] = minLength;
        if (maxLength > 0) schema["maxLength"] = maxLength;
        return schema;
    }

    private static JsonObject Id(string? description = null) => Str(description, IdPattern);

    private static JsonObject Time(string? description = null) =>
        With(new JsonObject { ["type"] = "string", ["format"] = "date-time" }, description);

    private static JsonObject Int(string? description = null, long? minimum = null)
    {
        var schema = With(new JsonObject { ["type"] = "integer", ["format"] = "int64" }, description);
        if (minimum is not null) schema["minimum"] = minimum;
        return schema;
    }

    private static JsonObject PriceTrace() => Obj("A price entry.", ["model", "effective"], ("model", Str()), ("effective", Time()));

    private static JsonObject Micros() => Int("Exact, in micro-dollars (1,000,000 a dollar).");

    private static JsonObject Num(string? description = null, decimal? minimum = null, decimal? maximum = null)
    {
        var schema = With(new JsonObject { ["type"] = "number" }, description);
        if (minimum is not null) schema["minimum"] = minimum;
        if (maximum is not null) schema["maximum"] = maximum;
        return schema;
    }

    private static JsonObject Dollars4() => Num("Dollars, four decimals.");

    private static JsonObject Exact(string? description = null) =>
        Str(description ?? "Exact dollars as text, six decimals, e.g. \"0.003050\".", ExactDollars);

    private static JsonObject Bool(string? description = null) => With(new JsonObject { ["type"] = "boolean" }, description);

    private static JsonObject Enum(params string[] values) => EnumOf(null, values);

    private static JsonObject EnumOf(string? description, params string[] values) =>
        With(new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v)]) }, description);

    private static JsonObject Const(bool value) => new() { ["type"] = "boolean", ["enum"] = new JsonArray(value) };

    private static JsonObject RunStatusSchema(string? description = null) => EnumOf(description, [.. RunStatus.All]);

    private static JsonObject Array(JsonObject items, string? description = null) =>
        With(new JsonObject { ["type"] = "array", ["items"] = items }, description);

    private static JsonObject StringMap(string description) =>
        new() { ["type"] = "object", ["description"] = description, ["additionalProperties"] = new JsonObject { ["type"] = "string" } };

    private static JsonObject Nullable(JsonObject schema)
    {
        schema["nullable"] = true;
        return schema;
    }

    private static JsonObject With(JsonObject schema, string? description)
    {
        if (description is not null) schema["description"] = description;
        return schema;
    }
}

using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RunLedger.Tests.Reliability;

/// <summary>One generated HTTP request, as sent; <see cref="Describe"/> prints it for a replay.</summary>
public sealed partial record FuzzRequest(string Function, HttpMethod Method, string Url, IReadOnlyList<(string Name, string Value)> Headers,
    byte[]? Body, string? ContentType, string BodyKind)
{
    public HttpRequestMessage ToMessage()
    {
        var message = new HttpRequestMessage(Method, Url);
        if (Body is not null)
        {
            message.Content = new ByteArrayContent(Body);
            if (ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            // A server may answer before it reads a body (a refused credential: 401) and close the
            // connection rather than drain a large one; the client, still sending, then sees no answer
            // at all. Asking first, as HTTP/1.1 clients with large bodies should, gets the answer.
            if (Body.Length > 64 * 1024) message.Headers.ExpectContinue = true;
        }
        foreach (var (name, value) in Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value)) message.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        return message;
    }

    public string Describe()
    {
        var body = Body is null ? "no body" : Body.Length > 300
            ? $"{Body.Length} bytes ({BodyKind}): {Escape(Encoding.UTF8.GetString(Body, 0, 200))}..."
            : $"({BodyKind}) {Escape(Encoding.UTF8.GetString(Body))}";
        // Credentials show their first characters only (enough to tell which one was used).
        var url = CodeValue().Replace(Url, m => "code=" + Mask(m.Groups[1].Value));
        url = url.Length > 300 ? $"{url[..300]}... ({Url.Length} characters)" : url;
        return $"{Function}: {Method} {url} [{string.Join("; ", Headers.Select(h => $"{h.Name}: {(h.Name == "x-functions-key" ? Mask(h.Value) : h.Value.Length > 60 ? h.Value[..60] + "..." : h.Value)}"))}] " +
               $"Content-Type: {ContentType ?? "none"}; {body}";
    }

    private static string Mask(string credential) => credential.Length > 10 ? credential[..10] + "…" : credential;

    [GeneratedRegex("code=([^&]*)")]
    private static partial Regex CodeValue();

    private static string Escape(string text) =>
        new(text.SelectMany(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()).ToArray());
}

/// <summary>
/// Seeded generators of hostile input for the ledger's HTTP functions and its queue: malformed and
/// ambiguous JSON, wrong types, huge and deeply nested bodies, ids with control characters,
/// odd content types, bad query values and headers. Everything here must be refused with a 4xx
/// problem (or a dead letter) or accepted whole; nothing may answer 5xx or half-write.
/// </summary>
public sealed partial class HostileInputs(int seed, string projectId, IReadOnlyList<string> runIds)
{
    private readonly Random _random = new(seed);

    private static readonly string[] HostileSegments =
    [
        "R%0A", "%0A", "a%00b", "a'b", "a%22b", "a%2Fb", "%2F", "a%5Cb", "a%23b", "a%3Fb", "a%25b", "%25",
        new string('a', 129), new string('b', 3000), "%7Edeadletters", "~costs", "latest", "%20", "a%20b",
        "%C3%A9t%C3%A9", "%F0%9F%98%80", "%ED%A0%80", "%FF%FE", "a.b", "-", "_", "a%09b", "a%0D%0Ab", "%E2%80%AE",
        "...", "a+b", "a;b", "a,b", "a*b", "(x)", "%7B%7D", "idx%7Cx", "run%7Cx", "x%27%20or%20%271%27%3D%271",
    ];

    private static readonly (string Name, string[] Values)[] QueryValues =
    [
        ("limit", ["-1", "0", "101", "abc", "1e2", "99999999999999999999", "", "%20", "5%00", "1.5", "%2B5", "5&limit=6"]),
        ("status", ["bogus", "COMPLETED", "done", "%0A", "", "running%0A", "queued&status=failed"]),
        ("continuationToken", ["!!!", "", Base64Url("idx|x"), Base64Url("run|x"), Base64Url("idx|" + new string('9', 20) + "|R"), new string('A', 5000), "%FF", Base64Url("~deadletters")]),
        ("after", ["-1", "abc", "99999999999999999999", "1.5", "", "%0A", "9999999999"]),
        ("from", ["notadate", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-13-45", "", "%0A", "2026-01-01"]),
        ("to", ["notadate", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "", "2020-01-01"]),
        ("projectId", ["%0A", "%7Edeadletters", "a'b", "", new string('p', 200), "P%00"]),
        ("code", ["garbage", ""]),
        ("x", ["1", "%00", "%FF"]),
    ];

    private static readonly (string Name, string[] Values)[] HeaderValues =
    [
        ("If-Match", ["garbage", "*", "W/\"x\"", "\"\"", "\"a\", \"b\"", "\"" + new string('e', 3000) + "\"", "W/\"datetime'2026-01-01T00%3A00%3A00Z'\""]),
        ("If-None-Match", ["*", "\"x\""]),
        ("Last-Event-ID", ["-1", "abc", "99999999999999999999", "1.5", " 3", "0", "5", "1,2"]),
        ("Idempotency-Key", ["", new string('k', 5000), "k\t1", "key with spaces", "%0A", "'; drop"]),
        ("Accept", ["text/event-stream", "text/csv", "application/xml", "*/*", "", "text/event-stream, text/csv", "application/problem+json"]),
        ("x-functions-key", ["garbage", ""]),
        ("Content-Encoding", ["gzip", "br"]),
    ];

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
        "application/json; charset=utf-16", "application/json; charset=latin1", "xx/yy;;;", "application/merge-patch+json", "",
    ];

    private static readonly string[] IdFields = ["projectId", "runId", "dossierId", "agent", "eventId", "clientId"];

    private static readonly string[] ManagedFields = ["runId", "projectId", "createdAt", "totalCost", "totalCostMicros", "invoice", "seedData", "configSnapshot", "status", "seq"];

    /// <summary>A request for <paramref name="function"/> (name, methods, route without the prefix).</summary>
    public FuzzRequest Request(string function, IReadOnlyList<string> methods, string route)
    {
        var method = new HttpMethod(methods[_random.Next(methods.Count)].ToUpperInvariant());
        var path = RouteParameter().Replace(route, m => Segment(m.Groups["name"].Value));
        var url = $"/api/{path}";
        if (Chance(0.5)) url += "?" + string.Join("&", Enumerable.Range(0, _random.Next(1, 4)).Select(_ => Query()));
        var headers = Chance(0.5) ? Enumerable.Range(0, _random.Next(1, 3)).Select(_ => Header()).ToList() : [];
        byte[]? body = null;
        string? contentType = null;
        var kind = "none";
        if (method != HttpMethod.Get || Chance(0.1))
        {
            (body, kind) = Body(function);
            contentType = Chance(0.75) ? "application/json" : Pick(ContentTypes);
            if (contentType.Length == 0) contentType = null;
            if (contentType == "application/json; charset=utf-16") body = Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(body));
        }
        return new FuzzRequest(function, method, url, headers, body, contentType, kind);
    }

    private string Segment(string name)
    {
        if (Chance(0.3)) return Pick(HostileSegments);
        return name switch
        {
            "projectId" => Chance(0.9) ? projectId : "pfz-other",
            "runId" => Chance(0.9) ? Pick(runIds) : "RUN_missing",
            _ => "x1",
        };
    }

    private string Query()
    {
        var (name, values) = QueryValues[_random.Next(QueryValues.Length)];
        return $"{name}={Pick(values)}";
    }

    private (string, string) Header()
    {
        var (name, values) = HeaderValues[_random.Next(HeaderValues.Length)];
        return (name, Pick(values));
    }

    /// <summary>A request body: the endpoint's own valid shape made hostile, or something that is not a usable body at all.</summary>
    public (byte[] Body, string Kind) Body(string function)
    {
        var roll = _random.NextDouble();
        if (roll < 0.45) return (Utf8(Mutated(SeedBody(function))), "mutated");
        if (roll < 0.60) return (Utf8(Pick(NotAnObject)), "not an object");
        if (roll < 0.70) return (Utf8(Nested(Pick([31, 32, 33, 64, 65, 200, 10_000]))), "nested");
        if (roll < 0.80) return (Duplicated(SeedBody(function)), "duplicate members");
        if (roll < 0.90) return (Encoded(SeedBody(function)), "bad encoding");
        if (roll < 0.97) return (Utf8(Truncated(SeedBody(function).ToJsonString())), "truncated");
        return (Utf8(Huge(SeedBody(function), Pick([70_000, 1_048_000, 1_100_000, 2_000_000]))), "huge");
    }

    /// <summary>A queue message text (before base64) that can never be applied to <paramref name="runId"/>: one guaranteed fault.</summary>
    public (string Text, string Kind) InvalidReport(string runId)
    {
        var report = new JsonObject
        {
            ["projectId"] = projectId, ["runId"] = runId, ["eventId"] = "fz-" + _random.Next(), ["agent"] = "voice",
            ["status"] = "running", ["message"] = "fuzz", ["progress"] = 5,
            ["usage"] = new JsonObject { ["model"] = "gpt-4o", ["inputTokens"] = 10 },
        };
        var text = report.ToJsonString();
        switch (_random.Next(16))
        {
            case 0: return (text.Replace("\"agent\":\"voice\"", "\"agent\":\"voice\",\"agent\":\"music\"", StringComparison.Ordinal), "duplicate member");
            case 1: return (text.Replace("\"fuzz\"", "\"\\uD800\"", StringComparison.Ordinal), "lone surrogate");
            case 2: return (Set(report, Pick(["projectId", "runId", "agent"]), Pick<JsonNode?>(["x\n", "", "a/b", new string('a', 129), "a\u0000b", 5, " x"])), "bad id");
            case 3: return (Set(report, "status", Pick<JsonNode?>(["exploded", 5, "", "run ning"])), "bad status");
            case 4: return (Set(report, "progress", Pick<JsonNode?>(["lots", true, new JsonArray(), 101, -1, 1e300])), "bad progress");
            case 5: return (Set(report, "usage", Pick<JsonNode?>([new JsonObject { ["model"] = "gpt-4o", ["costUsd"] = 2_000_000 }, "tokens", new JsonArray(1), new JsonObject { ["model"] = "gpt-4o", ["inputTokens"] = "x" }, new JsonObject { ["model"] = "gpt-4o", ["inputTokens"] = -5 }])), "bad usage");
            case 6: return (Set(report, "metadata", JsonNode.Parse(Nested(40))), "nested");
            case 7: return (Set(report, "timestamp", Pick<JsonNode?>(["notadate", 5, "2026-13-45T00:00:00Z"])), "bad timestamp");
            case 8: return (Set(report, "runStatus", Pick<JsonNode?>(["exploded", 7])), "bad runStatus");
            case 9: return (text[..^1] + ",\"costUsd\":0.5,\"usage\":{\"model\":\"x\",\"costUsd\":0.7}}", "conflicting costs");
            case 10: return (Pick(NotAnObject), "not an object");
            case 11: return (Truncated(text), "truncated");
            case 12: return (text.Replace("5", "1e400", StringComparison.Ordinal), "number out of range");
            case 13: return (Set(report, "artifacts", Pick<JsonNode?>(["a", 5, new JsonArray()])), "bad artifacts");
            case 14: return (Set(report, "error", Pick<JsonNode?>([5, new JsonObject()])), "bad error");
            default: return (JsonValue.Create(Set(report, "agent", "voice\n")).ToJsonString(), "double-encoded, bad id");
        }
    }

    private static string Set(JsonObject report, string name, JsonNode? value)
    {
        var copy = report.DeepClone().AsObject();
        copy[name] = value?.DeepClone();
        return copy.ToJsonString();
    }

    private JsonObject SeedBody(string function) => function switch
    {
        "StartPipeline" => new JsonObject
        {
            ["projectId"] = projectId, ["triggeredBy"] = "fuzz", ["seedData"] = new JsonObject { ["topic"] = "fuzz" },
            ["config"] = new JsonObject { ["pipeline"] = new JsonObject { ["finalAgent"] = "publisher" } },
        },
        "PutProjectConfig" => new JsonObject
        {
            ["pipeline"] = new JsonObject { ["finalAgent"] = "publisher" }, ["invoice"] = new JsonObject { ["markupRate"] = 0.2 },
        },
        "CreateReadOnlyLink" => new JsonObject { ["runId"] = runIds[0], ["expiresIn"] = "P7D" },
        "PatchRun" => new JsonObject
        {
            ["status"] = "running", ["message"] = "fuzz", ["progress"] = 10, ["voice"] = new JsonObject { ["characters"] = 5 },
        },
        "PostProgress" => new JsonObject
        {
            ["agent"] = "voice", ["status"] = "running", ["message"] = "fuzz", ["progress"] = 10,
            ["usage"] = new JsonObject { ["model"] = "gpt-4o", ["inputTokens"] = 10, ["outputTokens"] = 5 },
            ["artifacts"] = new JsonObject { ["narrationKey"] = "a.mp3" }, ["metadata"] = new JsonObject { ["voice"] = new JsonObject { ["id"] = "x" } },
        },
        _ => new JsonObject { ["name"] = "fuzz", ["value"] = 1, ["projectId"] = projectId },
    };

    private static readonly string[] NotAnObject =
    [
        "", " ", "null", "[]", "[1,2]", "1", "\"str\"", "true", "{", "}", "{\"a\":}", "{'a':1}", "{\"a\":1,}", "{a:1}",
        "hello", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":1}{\"b\":2}", "{\"a\":1} x", "/* c */ {}", "{\"a\":\"\u0001\"}",
        "{\"a\":\"\\x41\"}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":-}", "\u0000", "{\"\\uD800\":1}", "{\"a\":\"\\uDFFF\\uD800\"}",
    ];

    private string Mutated(JsonObject body)
    {
        for (var i = _random.Next(1, 4); i > 0; i--)
        {
            var target = Target(body);
            var names = target.Select(m => m.Key).ToList();
            switch (_random.Next(7))
            {
                case 0 when names.Count > 0:
                    target[Pick(names)] = HostileValue();
                    break;
                case 1 when names.Count > 0:
                    target.Remove(Pick(names));
                    break;
                case 2:
                    target[Pick(["", "~", "$type", "__proto__", "a\u0000b", new string('n', 1000), "status\n", "a/b", "x.y"])] = HostileValue();
                    break;
                case 3:
                    body[Pick(IdFields)] = Pick<JsonNode?>(["X\n", "X\r", "\tX", "X Y", "", new string('i', 129), "é", "a/b", "~x", "a#b", "a?b", 5, null]);
                    break;
                case 4:
                    body[Pick(ManagedFields)] = HostileValue();
                    break;
                case 5:
                    body[Pick(["status", "runStatus"])] = Pick<JsonNode?>(["exploded", "COMPLETED", "done", "pending", "failed", "completed", 5, null]);
                    break;
                default:
                    body[Pick(["usage", "config", "invoice"])] = Pick<JsonNode?>([
                        new JsonObject { ["model"] = "gpt-4o", ["costUsd"] = 1_000_000_000_000m },
                        new JsonObject { ["model"] = "gpt-4o", ["inputTokens"] = long.MaxValue },
                        new JsonObject { ["invoice"] = new JsonObject { ["markupRate"] = 1e20 } },
                        new JsonObject { ["markupRate"] = -1 },
                        new JsonObject { ["pipeline"] = new JsonObject { ["finalAgent"] = "a\nb" } },
                        new JsonObject { ["model"] = "unknown", ["inputTokens"] = 1.5 },
                    ]);
                    break;
            }
        }
        var text = body.ToJsonString();
        // Text-level faults JsonNode cannot express: escapes for lone surrogates, out-of-range numbers.
        return _random.Next(5) switch
        {
            0 => ReplaceFirst(text, ":\"", ":\"\\uD800"),
            1 => ReplaceFirst(text, ":\"", ":\"x\\uDC00y"),
            2 => ReplaceFirst(text, ":1", ":1e400"),
            _ => text,
        };
    }

    private JsonObject Target(JsonObject body)
    {
        var target = body;
        while (Chance(0.4) && target.Select(m => m.Value).OfType<JsonObject>().ToList() is { Count: > 0 } children)
        {
            target = Pick(children);
        }
        return target;
    }

    private JsonNode? HostileValue() => _random.Next(16) switch
    {
        0 => null,
        1 => true,
        2 => 0,
        3 => -1,
        4 => 1.5,
        5 => 1e300,
        6 => "",
        7 => "x\n",
        8 => "\u0000\u001f",
        9 => new string('s', Pick([1000, 70_000])),
        10 => new JsonArray(1, "a", null),
        11 => new JsonObject(),
        12 => JsonNode.Parse(Nested(Pick([20, 31, 33]))),
        13 => decimal.MaxValue,
        14 => long.MinValue,
        _ => "=cmd|' /C calc'!A0",
    };

    private byte[] Duplicated(JsonObject body)
    {
        var text = body.ToJsonString();
        var first = body.First();
        var duplicate = new JsonObject { [first.Key] = Chance(0.5) ? first.Value?.DeepClone() : HostileValue() }.ToJsonString();
        return Utf8(text.Insert(text.Length - 1, "," + duplicate[1..^1]));
    }

    private byte[] Encoded(JsonObject body)
    {
        var text = body.ToJsonString();
        var utf8 = Utf8(text);
        return _random.Next(4) switch
        {
            0 => [0xEF, 0xBB, 0xBF, .. utf8], // a byte order mark
            1 => Splice(utf8, [0xFF, 0xFE, 0xC0, 0xAF]), // not UTF-8 at all
            2 => Splice(utf8, [0xED, 0xA0, 0x80]), // a UTF-8-encoded lone surrogate
            _ => Encoding.Unicode.GetBytes(text), // UTF-16 sent as JSON
        };

        byte[] Splice(byte[] bytes, byte[] bad)
        {
            var at = Array.IndexOf(bytes, (byte)':') + 2; // inside the first string value, or near it
            at = Math.Clamp(at, 0, bytes.Length);
            return [.. bytes[..at], .. bad, .. bytes[at..]];
        }
    }

    private string Truncated(string text) => text[.._random.Next(1, Math.Max(2, text.Length - 1))];

    private static string Huge(JsonObject body, int size)
    {
        var copy = body.DeepClone().AsObject();
        copy["message"] = new string('h', size);
        return copy.ToJsonString();
    }

    private static string Nested(int depth) =>
        string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "1" + new string('}', depth - 1);

    private static string ReplaceFirst(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        return at < 0 ? text : text[..at] + with + text[(at + what.Length)..];
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    [GeneratedRegex(@"\{(?<name>\w+)(?::[^}]*)?\}")]
    private static partial Regex RouteParameter();
}

using RunLedger.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RunLedger.Access;
using RunLedger.Ledger;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>Builds the app's <see cref="Credentials"/> over given settings, for tests that mint or check.</summary>
public static class AuthCredentials
{
    public static Credentials For(string secrets, TimeProvider clock, string adminKeys = "", string environment = "Production") =>
        new(Options.Create(new LedgerOptions { SigningSecrets = secrets, AdminKeys = adminKeys }),
            new ConfigurationBuilder().AddInMemoryCollection([new("AZURE_FUNCTIONS_ENVIRONMENT", environment)]).Build(),
            clock, NullLogger<Credentials>.Instance);
}

public sealed class CredentialsTests
{
    private static readonly FixedClock Clock = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void AProjectKeyIsDerivedFromTheSecretAndTheProjectAndFitsNoOtherProject()
    {
        var credentials = AuthCredentials.For("s1", Clock);
        var key = credentials.ProjectKey("alpha");
        Assert.Equal(key, AuthCredentials.For("s1", Clock).ProjectKey("alpha")); // no key table: the same secret derives the same key
        Assert.True(credentials.IsProjectKey(key, "alpha"));
        Assert.False(credentials.IsProjectKey(key, "alpha2"));
        Assert.False(credentials.IsProjectKey(key, "Alpha"));
        Assert.False(AuthCredentials.For("s2", Clock).IsProjectKey(key, "alpha"));
    }

    [Fact]
    public void RotationMintsWithTheFirstSecretAndAcceptsEveryListedOne()
    {
        var old = AuthCredentials.For("old", Clock);
        var key = old.ProjectKey("alpha");
        var token = old.MintReadToken("alpha", null, Clock.Now.AddDays(1));

        var rotating = AuthCredentials.For("new, old", Clock);
        Assert.True(rotating.IsProjectKey(key, "alpha"));
        Assert.Equal(CallerKind.ReadToken, rotating.Identify(token).Kind);
        Assert.Equal(AuthCredentials.For("new", Clock).ProjectKey("alpha"), rotating.ProjectKey("alpha"));

        var rotated = AuthCredentials.For("new", Clock);
        Assert.False(rotated.IsProjectKey(key, "alpha"));
        Assert.Equal(CallerKind.Invalid, rotated.Identify(token).Kind);
    }

    [Fact]
    public void AReadTokenCarriesItsScopeAndStopsAtItsExpiry()
    {
        var credentials = AuthCredentials.For("s1", Clock);
        var token = credentials.MintReadToken("alpha", "RUN_1", Clock.Now.AddMinutes(10));
        var caller = credentials.Identify(token);
        Assert.Equal((CallerKind.ReadToken, "alpha", "RUN_1"), (caller.Kind, caller.ProjectId, caller.RunId));

        var later = new FixedClock(Clock.Now.AddMinutes(10));
        var expired = AuthCredentials.For("s1", later).Identify(token);
        Assert.Equal(CallerKind.Invalid, expired.Kind);
        Assert.Contains("expired at 2026-11-25T12:10:00", expired.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rlt_")]
    [InlineData("rlt_.")]
    [InlineData("rlt_e30.")]
    [InlineData("rlt_e30.!!!!")]
    [InlineData("rlt_e30.AAAA")]
    [InlineData("rlt_%%%.AAAA")]
    public void MalformedTokensAreInvalidNotErrors(string token)
    {
        Assert.Equal(CallerKind.Invalid, AuthCredentials.For("s1", Clock).Identify(token).Kind);
    }

    [Fact]
    public void OutsideDevelopmentNoAdminKeyMeansNoAdmin()
    {
        Assert.Equal(CallerKind.Nobody, AuthCredentials.For("s1", Clock).Identify(null).Kind);
        Assert.Equal(CallerKind.Invalid, AuthCredentials.For("s1", Clock).Identify("anything").Kind);
        Assert.True(AuthCredentials.For("", Clock, environment: "Development").Open);
        Assert.False(AuthCredentials.For("", Clock, adminKeys: "k", environment: "Development").Open);
        Assert.True(AuthCredentials.For("", Clock, adminKeys: "k", environment: "Development").Identify("k").IsAdmin);
    }

    [Fact]
    public void AReadTokenMayOnlyReadItsOwnScope()
    {
        var credentials = AuthCredentials.For("s1", Clock);
        var run = credentials.Identify(credentials.MintReadToken("alpha", "RUN_1", Clock.Now.AddDays(1)));
        run.Demand(credentials, Need.Read, "alpha", "RUN_1");
        Assert.Equal(403, Assert.Throws<RunLedger.Http.LedgerException>(() => run.Demand(credentials, Need.Read, "alpha", "RUN_2")).Status);
        Assert.Equal(403, Assert.Throws<RunLedger.Http.LedgerException>(() => run.Demand(credentials, Need.Read, "alpha", null)).Status);
        Assert.Equal(403, Assert.Throws<RunLedger.Http.LedgerException>(() => run.Demand(credentials, Need.Write, "alpha", "RUN_1")).Status);
        Assert.Equal(403, Assert.Throws<RunLedger.Http.LedgerException>(() => run.Demand(credentials, Need.Read, "beta", "RUN_1")).Status);
        Assert.Equal(401, Assert.Throws<RunLedger.Http.LedgerException>(() => Caller.Nobody.Demand(credentials, Need.Read, "alpha", null)).Status);
    }
}

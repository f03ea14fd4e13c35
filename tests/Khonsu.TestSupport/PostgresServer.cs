namespace Khonsu.TestSupport;

/// <summary>
/// The PostgreSQL server the tests run against: scripts/test.sh starts a private one and exports its
/// connection string as KHONSU_TEST_POSTGRES. A test that needs it fails (never skips) when it is not set.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "KHONSU_TEST_POSTGRES";

    /// <summary>The server's connection string (to its maintenance database, as a superuser).</summary>
    public static string ConnectionString
        => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set, so there is no PostgreSQL server to test against. " +
                "Run the tests with ./scripts/test.sh, which starts a private PostgreSQL server and sets it, " +
                $"or set {Variable} yourself, e.g. \"Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres\" " +
                "(the server needs max_prepared_transactions > 0).");
}

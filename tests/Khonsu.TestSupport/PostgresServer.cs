namespace Khonsu.TestSupport;

/// <summary>
/// The PostgreSQL server the test command started (scripts/test.sh exports its connection string
/// as KHONSU_TEST_POSTGRES). Tests fail, never skip, when it is missing.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "KHONSU_TEST_POSTGRES";

    public static string ConnectionString
        => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Variable} is not set: run the tests with scripts/test.sh, which starts a private PostgreSQL server.");
}

using Microsoft.Data.Sqlite;

namespace Khonsu.TestSupport;

/// <summary>
/// A real SQLite file (backend "ledger": accounts) and a real PostgreSQL database (backend "shop":
/// orders) with an embedded log beside them, for one test. The tables exist before Khonsu first
/// opens them; checks go around Khonsu, straight to each database. Test projects derive from it to
/// add what needs Khonsu itself (opening connections, closing runtimes).
/// </summary>
public class LedgerAndShopDatabases : IAsyncDisposable
{
    protected LedgerAndShopDatabases(TempDirectory directory, PostgresDatabase postgres)
    {
        Directory = directory;
        Postgres = postgres;
        SqlitePath = directory.File("ledger.db");
        LogPath = directory.File("khonsu-log.db");
    }

    public TempDirectory Directory { get; }

    public PostgresDatabase Postgres { get; }

    public string SqlitePath { get; }

    public string LogPath { get; }

    public string SqliteConnectionString => $"Data Source={SqlitePath}";

    public string ConnectionString(string extra = "")
        => $"Khonsu:Sqlite.ledger=\"{SqliteConnectionString}\";Postgres.shop=\"{Postgres.ConnectionString}\";Log=\"{LogPath}\";RecoveryInterval=0{extra}";

    public Task SqliteAsync(string sql) => DirectSql.SqliteAsync(SqlitePath, sql);

    public Task<object?> SqliteScalarAsync(string sql) => DirectSql.SqliteScalarAsync(SqlitePath, sql);

    public Task PostgresAsync(string sql) => DirectSql.PostgresAsync(Postgres.ConnectionString, sql);

    public Task<object?> PostgresScalarAsync(string sql) => DirectSql.PostgresScalarAsync(Postgres.ConnectionString, sql);

    /// <summary>Returns once <paramref name="sessions"/> sessions of the shop database wait for a lock (PostgreSQL says so), so a test knows a statement is blocked.</summary>
    public Task UntilWaitingForLocksAsync(int sessions, string what)
        => Poll.UntilAsync(
            async () => Convert.ToInt64(await PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")) == sessions,
            TimeSpan.FromSeconds(10),
            what);

    /// <summary>Rows of transaction_log for one transaction, as a DBA sees them: "participant:status:decision".</summary>
    public Task<IReadOnlyList<string>> TransactionLogAsync(string transactionId) => DirectSql.TransactionLogAsync(LogPath, transactionId);

    public virtual async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        await Postgres.DisposeAsync();
        Directory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>accounts (1 ada 100, 2 bob 50) on SQLite; orders on PostgreSQL, with order 100 unless <paramref name="withOrder"/> is false.</summary>
    protected async Task SeedAsync(bool withOrder = true)
    {
        await SqliteAsync("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 50);");
        await PostgresAsync("CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL, amount integer NOT NULL)" + (withOrder ? "; INSERT INTO orders VALUES (100, 1, 5);" : ""));
    }
}

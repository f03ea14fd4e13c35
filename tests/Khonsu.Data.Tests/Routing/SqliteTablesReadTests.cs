using Khonsu.Data.Backends;
using Khonsu.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Tests.Routing;

/// <summary>What SQLite's authorizer says a statement text reads (see <see cref="SqliteStatementAnalyzer.TablesRead"/>).</summary>
public sealed class SqliteTablesReadTests : IDisposable
{
    private static readonly Dictionary<string, TableInfo> Tables = new[] { "accounts", "notes", "requests" }
        .ToDictionary(name => name, name => new TableInfo(null, name, ["id"], HasVersionColumn: true), StringComparer.OrdinalIgnoreCase);

    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public SqliteTablesReadTests()
    {
        _connection.Open();
        using var command = _connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, khonsu_version INTEGER);
            CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
            CREATE TABLE requests (id INTEGER PRIMARY KEY, total INTEGER);
            CREATE TABLE khonsu_applied (tx_id TEXT);
            CREATE VIEW account_balances AS SELECT id, balance FROM accounts;
            CREATE VIEW rich AS SELECT id FROM account_balances WHERE balance > 100;
            CREATE TRIGGER requests_total AFTER INSERT ON requests BEGIN
                UPDATE requests SET total = (SELECT sum(balance) FROM accounts) WHERE id = NEW.id;
            END;
            CREATE TRIGGER khonsu_version_notes AFTER UPDATE ON notes BEGIN
                INSERT INTO khonsu_applied SELECT count(*) FROM accounts;
            END;
            """;
        command.ExecuteNonQuery();
    }

    [Theory]
    [InlineData("SELECT sum(balance) FROM account_balances", "accounts")]
    [InlineData("SELECT count(*) FROM rich", "accounts")]
    [InlineData("SELECT count(*) FROM accounts", "accounts")]
    [InlineData("SELECT khonsu_version FROM accounts WHERE id = 1", "accounts")]
    [InlineData("WITH x AS (SELECT id FROM accounts) SELECT * FROM x", "accounts")]
    [InlineData("SELECT * FROM notes WHERE id IN (SELECT id FROM account_balances)", "accounts, notes")]
    [InlineData("INSERT INTO requests (id) VALUES (1)", "accounts, requests")]
    [InlineData("INSERT INTO notes (id, body) VALUES (1, 'a')", "")]
    [InlineData("UPDATE notes SET body = 'b' WHERE id = 1", "notes")]
    [InlineData("SELECT 1; SELECT body FROM notes WHERE id = $id", "notes")]
    [InlineData("SELECT name FROM sqlite_master; SELECT * FROM khonsu_applied", "")]
    public void Reads_are_the_tables_under_views_subqueries_and_user_triggers(string sql, string expected)
    {
        var reads = new SqliteStatementAnalyzer().TablesRead(_connection.Handle!, sql, Tables);

        Assert.NotNull(reads);
        Assert.False(reads.ReadsAnything);
        Assert.Equal(expected, string.Join(", ", reads.Tables.Select(t => t.Name.ToLowerInvariant()).Order()));
    }

    [Fact]
    public void A_text_sqlite_cannot_prepare_gives_no_answer_and_leaves_no_authorizer()
    {
        var analyzer = new SqliteStatementAnalyzer();

        Assert.Null(analyzer.TablesRead(_connection.Handle!, "SELECT 1; SELECT * FROM missing", Tables));
        Assert.Equal(1, analyzer.ReadProbes);

        // Statements prepared afterwards run as usual.
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM account_balances";
        Assert.Equal(0L, command.ExecuteScalar());
    }

    public void Dispose() => _connection.Dispose();
}

using System.Data;
using System.Data.Common;
using Khonsu.TestSupport;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

public class ConnectionTests
{
    [Fact]
    public async Task The_plain_swap_works_for_sqlite()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "app.db");
        await using var connection = new KhonsuConnection($"Khonsu:Sqlite:Data Source={path}");
        await connection.OpenAsync();

        await Execute(connection, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "INSERT INTO items (name) VALUES ('pen')");
            await transaction.CommitAsync();
        }

        Assert.Equal("pen", await Scalar(connection, "SELECT name FROM items"));
        Assert.True(File.Exists(Path.Combine(directory.Path, "khonsu-log.db")), "the default log lives next to the first SQLite database");
        await KhonsuConnection.ClearPoolAsync(connection);
    }

    [Fact]
    public async Task The_plain_swap_works_for_postgres()
    {
        await using var database = await PostgresDatabase.CreateAsync("khonsu_swap");
        var connectionString = $"Khonsu:Postgres:{database.ConnectionString}";
        await using var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync();

        await Execute(connection, "CREATE TABLE items (id serial PRIMARY KEY, name text)");
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "INSERT INTO items (name) VALUES ('pen')");
            await transaction.CommitAsync();
        }

        Assert.Equal("pen", await Scalar(connection, "SELECT name FROM items"));
        await KhonsuConnection.ClearPoolAsync(connection);
    }

    [Fact]
    public async Task A_bad_inner_connection_string_names_the_key_and_hides_the_password()
    {
        await using var connection = new KhonsuConnection("Khonsu:Sqlite.a=\"Data Source=a.db\";Postgres.shop=\"Host=h;Password=s3cret-pw;Colour=blue\"");

        var error = await Assert.ThrowsAsync<KhonsuException>(() => connection.OpenAsync());

        Assert.Contains("'Postgres.shop'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task An_unknown_backend_kind_names_the_key_and_the_package()
    {
        await using var connection = new KhonsuConnection("Khonsu:Mysql.a=\"Server=x\"");

        var error = await Assert.ThrowsAsync<KhonsuException>(() => connection.OpenAsync());

        Assert.Contains("'Mysql.a'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Khonsu.Data.Mysql", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_manual_leaves_the_schema_alone_until_installed_explicitly()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Schema=Manual");

        Assert.Equal(0L, await db.SqliteScalarAsync("SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'version'"));
        await connection.InstallSchemaAsync();
        await connection.InstallSchemaAsync();

        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'version'"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'version'"));
    }

    [Fact]
    public async Task Closing_a_connection_with_a_reader_open_in_a_transaction_closes_the_reader_and_rolls_back()
    {
        // As Npgsql does: closing the connection closes its reader first, so the rollback can run.
        await using var db = await TwoDatabases.CreateAsync();
        var connection = await db.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
        await using var command = new KhonsuCommand("SELECT id FROM orders", connection);
        var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        await connection.CloseAsync();

        Assert.True(reader.IsClosed);
        Assert.Null(connection.CurrentTransaction);
        await reader.DisposeAsync();
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_backend_session_that_broke_between_transactions_is_opened_again_at_its_next_use()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        var pid = await PidAsync(connection);

        // A DBA (or a server restart) ends the session while the connection sits idle.
        await db.PostgresAsync($"SELECT pg_terminate_backend({pid})");
        await Assert.ThrowsAnyAsync<DbException>(() => PidAsync(connection)); // found, as Npgsql reports it

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.NotEqual(pid, await PidAsync(connection, transaction));
            await transaction.CommitAsync();
        }

        Assert.NotEqual(pid, await PidAsync(connection));
    }

    private static async Task<int> PidAsync(DbConnection connection, DbTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_backend_pid() FROM orders LIMIT 1";
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task The_provider_factory_registers_under_khonsu()
    {
        KhonsuProviderFactory.Register();

        var factory = DbProviderFactories.GetFactory("Khonsu");

        Assert.Same(KhonsuProviderFactory.Instance, factory);
        Assert.IsType<KhonsuConnection>(factory.CreateConnection());
        Assert.IsType<KhonsuCommand>(factory.CreateCommand());
        Assert.IsType<KhonsuParameter>(factory.CreateParameter());
        await using var connection = new KhonsuConnection();
        Assert.Same(KhonsuProviderFactory.Instance, DbProviderFactories.GetFactory(connection));
    }
}

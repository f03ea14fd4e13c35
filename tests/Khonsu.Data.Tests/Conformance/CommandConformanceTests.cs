using System.Data;
using System.Data.Common;

namespace Khonsu.Data.Tests.Conformance;

/// <summary>DbCommand's contract, case by case on the raw providers and on Khonsu over each.</summary>
public class CommandConformanceTests
{
    [Theory]
    [MemberData(nameof(Provider.All), MemberType = typeof(Provider))]
    public async Task CommandText_and_Connection_cannot_change_while_the_command_has_a_reader_open(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.Throws<InvalidOperationException>(() => command.CommandText = "SELECT 2");
            Assert.Throws<InvalidOperationException>(() => command.Connection = null);
        }

        command.CommandText = "SELECT 2"; // once the reader is closed, it can
        Assert.Equal(2L, Convert.ToInt64(await command.ExecuteScalarAsync()));
    }

    [Theory]
    [MemberData(nameof(Provider.OnSqlite), MemberType = typeof(Provider))]
    public async Task A_second_ExecuteReader_while_the_first_reader_is_open_throws_InvalidOperationException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await using var reader = await command.ExecuteReaderAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => command.ExecuteReaderAsync());
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite's Prepare checks nothing until the command runs
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Prepare_without_a_connection_on_a_closed_connection_or_without_text_throws_InvalidOperationException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        var command = provider.Factory.CreateCommand()!;
        command.CommandText = "SELECT 1";
        Assert.Throws<InvalidOperationException>(command.Prepare);

        await using var closed = provider.CreateConnection();
        command.Connection = closed;
        Assert.Throws<InvalidOperationException>(command.Prepare);

        await using var open = await provider.OpenConnectionAsync();
        command.Connection = open;
        command.CommandText = "";
        Assert.Throws<InvalidOperationException>(command.Prepare);

        command.CommandText = "SELECT 1";
        command.Prepare();
        Assert.Equal(1L, Convert.ToInt64(await command.ExecuteScalarAsync()));
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite accepts any value
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task A_negative_CommandTimeout_throws_ArgumentException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        var command = provider.Factory.CreateCommand()!;
        Assert.ThrowsAny<ArgumentException>(() => command.CommandTimeout = -1);
        command.CommandTimeout = 0; // no limit
        Assert.Equal(0, command.CommandTimeout);
    }

    [Theory]
    [MemberData(nameof(Provider.All), MemberType = typeof(Provider))]
    public async Task A_parameter_whose_Value_was_never_set_is_refused_rather_than_sent_as_NULL(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await provider.ExecuteAsync("CREATE TABLE items (id integer PRIMARY KEY, note text)");
        await using var connection = await provider.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO items (id, note) VALUES (1, @note)";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "note";
        command.Parameters.Add(parameter);
        await Assert.ThrowsAsync<InvalidOperationException>(() => command.ExecuteNonQueryAsync());

        parameter.Value = DBNull.Value; // NULL said explicitly is sent
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    // Not Khonsu over SQLite, by decision (docs/limits.md): Microsoft.Data.Sqlite returns, for DDL,
    // sqlite3_changes(), the count of the connection's last INSERT, UPDATE or DELETE (see the test
    // below); through Khonsu that last write is one of Khonsu's own, so it says 1 where a fresh raw
    // connection says 0. Neither is a row count of the DDL.
    [Theory]
    [InlineData(Provider.Sqlite)]
    [InlineData(Provider.Postgres)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task ExecuteNonQuery_on_CREATE_TABLE_returns_what_the_raw_provider_returns(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE created (id integer PRIMARY KEY)";
        Assert.Equal(provider.IsPostgres ? -1 : 0, await command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Raw_Microsoft_Data_Sqlite_returns_the_last_writes_count_for_DDL()
    {
        await using var provider = await Provider.CreateAsync(Provider.Sqlite);
        await using var connection = await provider.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE counted (id integer PRIMARY KEY)";
        await command.ExecuteNonQueryAsync();
        command.CommandText = "INSERT INTO counted VALUES (1), (2)";
        Assert.Equal(2, await command.ExecuteNonQueryAsync());
        command.CommandText = "CREATE TABLE after_insert (id integer PRIMARY KEY)";
        Assert.Equal(2, await command.ExecuteNonQueryAsync()); // the INSERT's count, not the CREATE's
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite's parameters default to DataRowVersion.Default
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task A_new_parameter_defaults_to_Input_and_the_Current_row_version(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        var parameter = provider.Factory.CreateParameter()!;
        Assert.Equal(ParameterDirection.Input, parameter.Direction);
        Assert.Equal(DataRowVersion.Current, parameter.SourceVersion);
        Assert.Null(parameter.Value);
    }
}

using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Data.Tests.Conformance;

/// <summary>DbConnection's contract, case by case on the raw providers and on Khonsu over each.</summary>
public class ConnectionConformanceTests
{
    [Theory]
    [MemberData(nameof(Provider.All), MemberType = typeof(Provider))]
    public async Task Setting_a_connection_string_with_an_unknown_key_throws_ArgumentException_naming_it(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        var connection = provider.Factory.CreateConnection()!;
        var error = Assert.ThrowsAny<ArgumentException>(() => connection.ConnectionString = provider.InvalidConnectionString);
        Assert.Contains("no such key", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite opens a temporary database for an empty string
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Open_without_a_connection_string_throws_InvalidOperationException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        using var connection = provider.Factory.CreateConnection()!;
        Assert.Throws<InvalidOperationException>(connection.Open);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.OpenAsync());
    }

    [Theory]
    [InlineData(Provider.Postgres)] // a disposed SqliteConnection opens again
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Open_after_Dispose_throws_ObjectDisposedException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        var connection = provider.CreateConnection();
        connection.Dispose();
        Assert.Throws<ObjectDisposedException>(connection.Open);
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite's Open on an open connection does nothing
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Open_twice_throws_InvalidOperationException_and_Close_twice_does_nothing(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        Assert.Throws<InvalidOperationException>(connection.Open);
        connection.Close();
        connection.Close();
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Theory]
    [MemberData(nameof(Provider.All), MemberType = typeof(Provider))]
    public async Task State_changes_are_raised_on_Open_and_Close(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = provider.CreateConnection();
        var changes = new List<string>();
        connection.StateChange += (_, e) => changes.Add($"{e.OriginalState}->{e.CurrentState}");
        await connection.OpenAsync();
        await connection.CloseAsync();
        Assert.Equal(["Closed->Open", "Open->Closed"], changes);
    }

    [Theory]
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task A_single_backend_connection_reports_its_backend_DataSource_Database_and_ServerVersion(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var khonsu = await provider.OpenConnectionAsync();
        await using var raw = await RawConnectionAsync(provider);
        Assert.Equal(raw.ServerVersion, khonsu.ServerVersion);
        Assert.Equal(raw.DataSource, khonsu.DataSource);
        Assert.Equal(raw.Database, khonsu.Database);
    }

    /// <summary>The raw provider's connection to the same database as <paramref name="khonsu"/>'s single backend.</summary>
    private static async Task<DbConnection> RawConnectionAsync(Provider khonsu)
    {
        var inner = khonsu.ConnectionString.Split('"')[1];
        DbConnection raw = khonsu.IsPostgres ? new NpgsqlConnection(inner) : new SqliteConnection(inner);
        await raw.OpenAsync();
        return raw;
    }
}

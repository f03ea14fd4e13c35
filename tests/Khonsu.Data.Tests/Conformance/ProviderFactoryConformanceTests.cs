using System.Data;
using System.Data.Common;

namespace Khonsu.Data.Tests.Conformance;

/// <summary>DbProviderFactory's contract, and the DbDataAdapter code written against a factory.</summary>
public class ProviderFactoryConformanceTests
{
    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite has neither
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task The_factory_creates_a_command_builder_and_a_data_adapter(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        Assert.True(provider.Factory.CanCreateCommandBuilder);
        Assert.True(provider.Factory.CanCreateDataAdapter);
        Assert.NotNull(provider.Factory.CreateCommandBuilder());
        Assert.NotNull(provider.Factory.CreateDataAdapter());
    }

    [Theory]
    [InlineData(Provider.Postgres)]
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task A_data_adapter_fills_a_DataTable_and_its_command_builder_writes_the_changes_back(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await provider.ExecuteAsync("CREATE TABLE items (id integer PRIMARY KEY, note text NOT NULL); INSERT INTO items (id, note) VALUES (1, 'one'), (2, 'two')");
        await using var connection = await provider.OpenConnectionAsync();
        using var adapter = provider.Factory.CreateDataAdapter()!;
        var select = connection.CreateCommand();
        select.CommandText = "SELECT id, note FROM items ORDER BY id";
        adapter.SelectCommand = select;
        using var builder = provider.Factory.CreateCommandBuilder()!;
        builder.DataAdapter = adapter;

        var table = new DataTable();
        Assert.Equal(2, adapter.Fill(table));
        Assert.Equal("two", table.Rows[1]["note"]);

        table.Rows[0]["note"] = "uno";
        table.Rows.Add(3, "three");
        Assert.Equal(2, adapter.Update(table));

        await using var check = connection.CreateCommand();
        check.CommandText = "SELECT note FROM items ORDER BY id";
        var notes = new List<string>();
        await using (var reader = await check.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                notes.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["uno", "two", "three"], notes);
    }
}

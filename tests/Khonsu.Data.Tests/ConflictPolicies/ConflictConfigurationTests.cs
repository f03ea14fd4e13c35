using Khonsu.Data.Configuration;

namespace Khonsu.Data.Tests.ConflictPolicies;

/// <summary>Conflict policies are checked when configured (values) and when the runtime opens (tables, backends).</summary>
public class ConflictConfigurationTests
{
    [Theory]
    [InlineData("Conflict.orders=Sometimes", "Key 'Conflict.orders' must be Fail, Ignore, Replace or Append.")]
    [InlineData("Conflict.orders=1", "Key 'Conflict.orders' must be Fail, Ignore, Replace or Append.")]
    public void A_bad_policy_value_is_an_error_naming_the_key(string key, string message)
    {
        var error = Assert.Throws<KhonsuException>(() => KhonsuConnectionStringParser.Parse($"Khonsu:Sqlite.a=\"Data Source=a.db\";{key}"));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_builder_writes_the_same_keys_and_gets_the_same_errors()
    {
        var builder = new KhonsuDataSourceBuilder().AddSqlite("a", "Data Source=a.db").ConflictPolicy("orders", KhonsuConflictPolicy.Replace);
        Assert.Equal(KhonsuConflictPolicy.Replace, builder.BuildSettings().ConflictPolicies["orders"]);

        Assert.Equal(KhonsuConflictPolicy.Append, builder.ConflictPolicy("ledger_lines", KhonsuConflictPolicy.Append).BuildSettings().ConflictPolicies["ledger_lines"]);

        var error = Assert.Throws<KhonsuException>(() => builder.ConflictPolicy("orders", (KhonsuConflictPolicy)7).Build());
        Assert.StartsWith("Key 'Conflict.orders' must be Fail, Ignore, Replace or Append.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(";Conflict.nosuch=Replace", "Key 'Conflict.nosuch': no backend has a table 'nosuch' (looked in 'ledger', 'shop').")]
    [InlineData(";Conflict.accounts=Ignore", "Key 'Conflict.accounts': backend 'ledger' (Sqlite) cannot Ignore a conflicting write")]
    [InlineData(";Conflict.accounts=Append", "Key 'Conflict.accounts': backend 'ledger' (Sqlite) cannot Append")]
    [InlineData(";Conflict.orders=Append", "Key 'Conflict.orders': table 'orders' on backend 'shop' cannot Append: its primary key (id) is not one column the database generates")]
    public async Task A_policy_the_catalogs_cannot_honour_fails_the_open(string extra, string message)
    {
        await using var db = await TwoDatabases.CreateAsync();
        var error = await Assert.ThrowsAsync<KhonsuException>(() => db.OpenAsync(extra));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replace_on_a_SQLite_table_and_policies_on_known_tables_open()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.accounts=Replace;Conflict.orders=Ignore");
        Assert.Equal(
            [Engine.ItemId.Of("ledger", "accounts")],
            connection.Runtime.ConflictPolicies.LastWriterWinsTables);
    }
}

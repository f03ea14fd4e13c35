using Khonsu.Data;
using Khonsu.Data.Configuration;
using Khonsu.TestSupport;

namespace Khonsu.Ecosystem.Tests.Builder;

public class DataSourceBuilderTests
{
    [Fact]
    public void The_builder_yields_the_settings_the_parser_reads_from_the_equivalent_connection_string()
    {
        var built = new KhonsuDataSourceBuilder()
            .AddSqlite("ledger", "Data Source=/tmp/a;b/ledger.db")
            .AddPostgres("Shop", "Host=db;Username=app;Password=\"p;w=d\"")
            .Route("audit", "ledger")
            .ConflictPolicy("orders", KhonsuConflictPolicy.Replace)
            .Log("/var/khonsu/log.db")
            .Schema(SchemaMode.Manual)
            .VersionColumn("row_version")
            .Node("node-7")
            .PrepareLease(TimeSpan.FromSeconds(90))
            .LockTimeout(TimeSpan.FromMilliseconds(250))
            .RecoveryInterval(TimeSpan.Zero)
            .PostgresSerializable()
            .Follow("Shop", "orders", "customers")
            .Prefetch()
            .BuildSettings();
        var parsed = KhonsuConnectionStringParser.Parse(
            "Khonsu:Sqlite.ledger=\"Data Source=/tmp/a;b/ledger.db\";Postgres.Shop='Host=db;Username=app;Password=\"p;w=d\"';Route.audit=ledger;Conflict.orders=Replace;" +
            "Log=/var/khonsu/log.db;Schema=Manual;VersionColumn=row_version;Node=node-7;PrepareLease=90;LockTimeout=0.25;RecoveryInterval=0;PostgresIsolation=Serializable;Follow.Shop=orders,customers;Prefetch=On");

        Assert.Equal(parsed.Backends, built.Backends);
        Assert.Equal(parsed.Routes.OrderBy(r => r.Key), built.Routes.OrderBy(r => r.Key));
        Assert.Equal(parsed.LogSettings, built.LogSettings);
        Assert.Equal(parsed.ConflictPolicies, built.ConflictPolicies);
        Assert.Equal(KhonsuConflictPolicy.Replace, built.ConflictPolicies["orders"]);
        Assert.Equal(parsed.FollowedTables, built.FollowedTables);
        Assert.Equal(["orders", "customers"], built.FollowedOn("Shop"));
        Assert.True(built.PrefetchOn);
        Assert.Equal(parsed with { Backends = built.Backends, Routes = built.Routes, LogSettings = built.LogSettings, ConflictPolicies = built.ConflictPolicies, FollowedTables = built.FollowedTables }, built);
        Assert.True(built.PostgresSerializable);
        Assert.Equal(TimeSpan.FromMilliseconds(250), built.LockTimeout);
        Assert.Equal("Shop", built.Backends[1].Name);
        Assert.Equal("Host=db;Username=app;Password=\"p;w=d\"", built.Backends[1].ConnectionString);
    }

    [Fact]
    public void The_builder_rejects_what_the_parser_rejects_with_the_same_message()
    {
        var routeToNowhere = Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().AddSqlite("ledger", "Data Source=l.db").Route("orders", "shop").Build());
        Assert.Equal(
            Assert.Throws<KhonsuException>(() => KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.ledger=\"Data Source=l.db\";Route.orders=shop")).Message,
            routeToNowhere.Message);

        var twice = Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().AddSqlite("main", "Data Source=a.db").AddPostgres("MAIN", "Host=x").Build());
        Assert.Contains("used twice", twice.Message, StringComparison.Ordinal);
        Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().Log("x.db").Build());
        Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().AddSqlite("bad name", "Data Source=a.db").Build());
        Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().AddSqlite("main", "Data Source=a.db").LockTimeout(TimeSpan.Zero).Build());
        Assert.Throws<KhonsuException>(() => new KhonsuDataSourceBuilder().AddBackend("Oracle", "main", "Data Source=x").Build().OpenConnection());
    }

    [Fact]
    public async Task A_built_data_source_opens_connections_that_run_statements()
    {
        using var directory = new TempDirectory();
        await using var dataSource = new KhonsuDataSourceBuilder()
            .AddSqlite("main", $"Data Source={directory.File("app.db")}")
            .RecoveryInterval(TimeSpan.Zero)
            .Build();
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)";
            await create.ExecuteNonQueryAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO notes (id, body) VALUES (1, 'hello')";
            await insert.ExecuteNonQueryAsync();
            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT body FROM notes WHERE id = 1";
            Assert.Equal("hello", await select.ExecuteScalarAsync());
            Assert.True(File.Exists(directory.File("khonsu-log.db")));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }
}

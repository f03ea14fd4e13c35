using Khonsu.Data.Configuration;

namespace Khonsu.Data.Tests.Configuration;

public class ConnectionStringParserTests
{
    [Fact]
    public void Single_backend_form_hands_the_rest_over_unchanged()
    {
        var settings = KhonsuConnectionStringParser.Parse("Khonsu:Postgres:Host=127.0.0.1;Port=5432;Username=u;Database=d");

        var backend = Assert.Single(settings.Backends);
        Assert.Equal("Postgres", backend.Kind);
        Assert.Equal("postgres", backend.Name);
        Assert.Equal("Host=127.0.0.1;Port=5432;Username=u;Database=d", backend.ConnectionString);
    }

    [Fact]
    public void Single_backend_form_keeps_colons_of_the_inner_string()
    {
        var settings = KhonsuConnectionStringParser.Parse("Khonsu:Sqlite:Data Source=C:/data/app.db");

        Assert.Equal("Data Source=C:/data/app.db", Assert.Single(settings.Backends).ConnectionString);
    }

    [Fact]
    public void Keyed_form_reads_backends_log_routes_and_settings()
    {
        var settings = KhonsuConnectionStringParser.Parse(
            "Khonsu:Sqlite.ledger=\"Data Source=ledger.db\";Postgres.shop=\"Host=h;Database=shop\";Log=\"khonsu-log.db\";Route.orders=shop;Schema=Manual;VersionColumn=row_version;Node=web-1");

        Assert.Collection(
            settings.Backends,
            b => Assert.Equal(("Sqlite", "ledger", "Data Source=ledger.db"), (b.Kind, b.Name, b.ConnectionString)),
            b => Assert.Equal(("Postgres", "shop", "Host=h;Database=shop"), (b.Kind, b.Name, b.ConnectionString)));
        Assert.Equal("khonsu-log.db", settings.LogPath);
        Assert.Equal("shop", settings.Routes["orders"]);
        Assert.Equal(SchemaMode.Manual, settings.Schema);
        Assert.Equal("row_version", settings.VersionColumn);
        Assert.Equal("web-1", settings.NodeId);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.SafeSnapshotTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2.5), KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";SafeSnapshotTimeout=2.5").SafeSnapshotTimeout);
    }

    [Fact]
    public void TransactionLog_names_the_backend_that_holds_a_kafka_logs_transaction_log_in_both_ways_of_configuring()
    {
        var parsed = KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.ledger=\"Data Source=ledger.db\";Postgres.shop=\"Host=h\";Log=kafka://k1:9092/khonsu-log;TransactionLog=shop");
        var built = new KhonsuDataSourceBuilder().AddSqlite("ledger", "Data Source=ledger.db").AddPostgres("shop", "Host=h").Log("kafka://k1:9092/khonsu-log").TransactionLog("shop").BuildSettings();

        Assert.Equal("shop", parsed.TransactionLogBackend);
        Assert.Equal("shop", built.TransactionLogBackend);
        Assert.Null(KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";Log=kafka://k1:9092/t").TransactionLogBackend);
    }

    [Fact]
    public void Autocommit_defaults_to_a_transaction_per_writing_statement_and_can_be_direct_in_both_ways_of_configuring()
    {
        var parsed = KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";Autocommit=direct");
        var built = new KhonsuDataSourceBuilder().AddSqlite("a", "Data Source=a.db").Autocommit(AutocommitMode.Direct).BuildSettings();

        Assert.Equal(AutocommitMode.Transaction, KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\"").Autocommit);
        Assert.Equal(AutocommitMode.Direct, parsed.Autocommit);
        Assert.Equal(AutocommitMode.Direct, built.Autocommit);
    }

    [Theory]
    [InlineData(null, 7 * 86400.0)]
    [InlineData("604800", 604800.0)]
    [InlineData("2.5", 2.5)]
    [InlineData("30s", 30.0)]
    [InlineData("90 min", 5400.0)]
    [InlineData("12h", 43200.0)]
    [InlineData("14D", 14 * 86400.0)]
    [InlineData("Infinite", null)]
    public void TransactionLogRetention_takes_seconds_or_a_unit_and_defaults_to_a_week(string? value, double? seconds)
    {
        var text = "Khonsu:Sqlite.a=\"Data Source=a.db\"" + (value is null ? string.Empty : $";TransactionLogRetention={value}");

        Assert.Equal(seconds, KhonsuConnectionStringParser.Parse(text).TransactionLogRetention?.TotalSeconds);
        Assert.Equal(TimeSpan.FromHours(12), new KhonsuDataSourceBuilder().AddSqlite("a", "Data Source=a.db").TransactionLogRetention(TimeSpan.FromHours(12)).BuildSettings().TransactionLogRetention);
        Assert.Null(new KhonsuDataSourceBuilder().AddSqlite("a", "Data Source=a.db").TransactionLogRetention(null).BuildSettings().TransactionLogRetention);
    }

    [Fact]
    public void A_setting_given_twice_keeps_the_last_as_ADO_NET_does()
        => Assert.Equal(TimeSpan.FromSeconds(2), KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";LockTimeout=1;LockTimeout=2").LockTimeout);

    [Theory]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";TransactionLogRetention=0", "Key 'TransactionLogRetention' must be a length of time greater than 0")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";TransactionLogRetention=-3d", "Key 'TransactionLogRetention' must be a length of time greater than 0")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";TransactionLogRetention=a week", "Key 'TransactionLogRetention' must be a length of time greater than 0")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";TransactionLogRetention=7w", "Key 'TransactionLogRetention' must be a length of time greater than 0")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";TransactionLog=a", "'TransactionLog'")] // the embedded log has its own
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Log=kafka://k1:9092/t;TransactionLog=b", "names backend 'b'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Log=kafka://k1:9092/t;TransactionLog=\"\"", "'TransactionLog' must name a backend")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Colour=blue", "'Colour'")]
    [InlineData("Khonsu:Log=x.db", "names no backend")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Route.t=nowhere", "'Route.t'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Postgres.A=\"Host=h\"", "'Postgres.A'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Schema=Sometimes", "'Schema'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";PrepareLease=-1", "'PrepareLease'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";PostgresIsolation=Chaos", "'PostgresIsolation'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";SafeSnapshotTimeout=0", "Key 'SafeSnapshotTimeout' must be a number of seconds greater than 0")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Autocommit=1", "Key 'Autocommit' must be 'Transaction'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Autocommit=Off", "Key 'Autocommit' must be 'Transaction'")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Sqlite.a=\"Data Source=b.db\"", "Key 'Sqlite.a' is given twice")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db;Cache='x;y'\";Postgres.b=\"Host=h\";postgres.B=\"Host=i\"", "Key 'postgres.B' is given twice")]
    [InlineData("Khonsu:Sqlite.a=\"Data Source=a.db\";Enlist=maybe", "Key 'Enlist' must be 'true'")]
    [InlineData("Sqlite:Data Source=a.db", "starts with 'Khonsu:'")]
    [InlineData("", "empty")]
    public void Bad_connection_strings_name_the_problem(string connectionString, string expected)
    {
        var error = Assert.Throws<KhonsuException>(() => KhonsuConnectionStringParser.Parse(connectionString));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}

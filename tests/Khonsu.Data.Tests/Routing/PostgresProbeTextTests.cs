using Khonsu.Data.Postgres;
using Khonsu.Data.Routing;
using Npgsql;

namespace Khonsu.Data.Tests.Routing;

/// <summary>The text PostgreSQL's read probe prepares (see <see cref="PostgresProbeText"/>), and what it reads from a plan.</summary>
public class PostgresProbeTextTests
{
    [Theory]
    [InlineData("SELECT * FROM v WHERE a = @a AND b = @b OR a = @a;", "a,b", "SELECT * FROM v WHERE a = $1 AND b = $2 OR a = $1", 2)]
    [InlineData("SELECT '@a', x::int, \"@a\" FROM v /* @a */ WHERE a = :a -- @b", "a,b", "SELECT '@a', x::int, \"@a\" FROM v /* @a */ WHERE a = $1", 1)]
    [InlineData("SELECT * FROM v WHERE a = $2 AND b = $1", ",", "SELECT * FROM v WHERE a = $2 AND b = $1", 2)]
    [InlineData("SELECT * FROM v", "", "SELECT * FROM v", 0)]
    public void Named_placeholders_become_positional_as_npgsql_sends_them(string sql, string names, string expected, int count)
    {
        var command = new NpgsqlCommand(sql);
        foreach (var name in names.Split(',', StringSplitOptions.None).Where(_ => names.Length > 0))
        {
            command.Parameters.Add(new NpgsqlParameter { ParameterName = name, Value = 1 });
        }

        Assert.Equal((expected, count), PostgresProbeText.Positional(sql, SqlTableReferenceScanner.Tokenize(sql), command.Parameters));
    }

    [Theory]
    [InlineData("SELECT 1; SELECT * FROM v")]
    [InlineData("SELECT * FROM v WHERE a = @missing")]
    public void Several_statements_or_a_missing_parameter_cannot_be_prepared(string sql)
    {
        var command = new NpgsqlCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { ParameterName = "other", Value = 1 });
        Assert.Null(PostgresProbeText.Positional(sql, SqlTableReferenceScanner.Tokenize(sql), command.Parameters));
    }

    [Fact]
    public void A_plan_gives_the_relations_of_every_node_and_subplan()
    {
        const string plan = """
            [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Output": ["orders.id", "upper(orders.note)"],
              "Plans": [{"Node Type": "Index Scan", "Parent Relationship": "InitPlan", "Relation Name": "accounts", "Schema": "ledger"}]}}]
            """;

        var reads = PostgresStatementReads.Read(plan);

        Assert.False(reads.ReadsAnything);
        Assert.Equal([("public", "orders"), ("ledger", "accounts")], reads.Tables);
    }

    [Theory]
    [InlineData("""[{"Plan": {"Node Type": "Result", "Output": ["pg_catalog.query_to_xml('SELECT 1'::text, true, true, ''::text)"]}}]""")]
    [InlineData("""[{"Plan": {"Node Type": "Function Scan", "Function Name": "ts_stat", "Schema": "pg_catalog"}}]""")]
    [InlineData("""[{"Plan": {"Node Type": "Append", "Subplans Removed": 2, "Plans": []}}]""")]
    public void A_plan_that_runs_a_query_it_does_not_show_or_pruned_partitions_reads_anything(string plan)
        => Assert.True(PostgresStatementReads.Read(plan).ReadsAnything);
}

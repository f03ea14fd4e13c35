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

        var reads = PostgresStatementReads.Read(plan, new HashSet<string>(["my_func"], StringComparer.OrdinalIgnoreCase), []);

        Assert.False(reads.ReadsAnything);
        Assert.Equal([("public", "orders"), ("ledger", "accounts")], reads.Tables);
    }

    [Theory]
    [InlineData("""[{"Plan": {"Node Type": "Result", "Output": ["public.\"My_Func\"(1)"]}}]""")]
    [InlineData("""[{"Plan": {"Node Type": "Function Scan", "Function Name": "my_func", "Schema": "public"}}]""")]
    [InlineData("""[{"Plan": {"Node Type": "Append", "Subplans Removed": 2, "Plans": []}}]""")]
    [InlineData("""[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Filter": "(t.a ### 1)"}}]""")]
    public void A_plan_that_calls_what_it_cannot_see_into_reads_anything(string plan)
        => Assert.True(PostgresStatementReads.Read(plan, new HashSet<string>(["my_func"], StringComparer.OrdinalIgnoreCase), ["###"]).ReadsAnything);
}

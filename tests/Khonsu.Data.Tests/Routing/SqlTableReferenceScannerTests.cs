using Khonsu.Data.Routing;

namespace Khonsu.Data.Tests.Routing;

public class SqlTableReferenceScannerTests
{
    [Theory]
    [InlineData("SELECT * FROM accounts", "accounts")]
    [InlineData("select * from Accounts a join ORDERS o on o.id = a.id", "accounts,orders")]
    [InlineData("SELECT * FROM a, b x, c AS y WHERE a.id = b.id", "a,b,c")]
    [InlineData("SELECT * FROM a LEFT OUTER JOIN b USING (id) NATURAL JOIN c CROSS JOIN d", "a,b,c,d")]
    [InlineData("SELECT * FROM t WHERE id IN (SELECT id FROM other)", "t,other")]
    [InlineData("SELECT (SELECT max(x) FROM inner_t) FROM outer_t", "inner_t,outer_t")]
    [InlineData("SELECT * FROM (SELECT * FROM deep) sub", "deep")]
    [InlineData("INSERT INTO t (a, b) VALUES (1, 2)", "t")]
    [InlineData("INSERT OR REPLACE INTO t VALUES (1)", "t")]
    [InlineData("REPLACE INTO t VALUES (1)", "t")]
    [InlineData("INSERT INTO t SELECT * FROM s", "t,s")]
    [InlineData("INSERT INTO t (id, v) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET v = excluded.v", "t")]
    [InlineData("UPDATE t SET x = 1 WHERE id = 2", "t")]
    [InlineData("UPDATE OR IGNORE t SET x = 1", "t")]
    [InlineData("UPDATE t SET x = s.x FROM s WHERE s.id = t.id", "t,s")]
    [InlineData("DELETE FROM t WHERE id = 1", "t")]
    [InlineData("DELETE FROM t USING s WHERE s.id = t.id", "t,s")]
    [InlineData("MERGE INTO t USING s ON s.id = t.id WHEN MATCHED THEN UPDATE SET v = s.v", "t,s")]
    [InlineData("TRUNCATE TABLE t", "t")]
    [InlineData("TRUNCATE t", "t")]
    [InlineData("SELECT * FROM ONLY t", "t")]
    [InlineData("SELECT * FROM t FOR UPDATE OF t NOWAIT", "t")]
    [InlineData("SELECT * FROM a JOIN LATERAL (SELECT * FROM b WHERE b.id = a.id) x ON true", "a,b")]
    [InlineData("TABLE t", "t")]
    [InlineData("COPY t FROM STDIN", "t")]
    [InlineData("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "t")]
    public void Finds_tables_in_table_positions(string sql, string expected)
        => Assert.Equal(expected.Split(','), Names(sql));

    [Theory]
    [InlineData("SELECT 1", "")]
    [InlineData("SELECT 'orders' FROM accounts", "accounts")]
    [InlineData("SELECT \"orders\" FROM accounts", "accounts")]
    [InlineData("SELECT x AS orders FROM accounts", "accounts")]
    [InlineData("SELECT * FROM accounts -- FROM orders", "accounts")]
    [InlineData("SELECT * FROM accounts /* JOIN orders /* nested */ FROM orders */", "accounts")]
    [InlineData("SELECT $$ FROM orders $$ FROM accounts", "accounts")]
    [InlineData("SELECT $tag$ FROM orders $tag$, x FROM accounts", "accounts")]
    [InlineData("SELECT E'it\\'s FROM orders' FROM accounts", "accounts")]
    [InlineData("SELECT 'it''s FROM orders' FROM accounts", "accounts")]
    [InlineData("SELECT EXTRACT(YEAR FROM ts) FROM accounts", "accounts")]
    [InlineData("SELECT SUBSTRING(name FROM 2 FOR 3) FROM accounts", "accounts")]
    [InlineData("SELECT TRIM(BOTH ' ' FROM name) FROM accounts", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE a IS DISTINCT FROM b", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE a IS NOT DISTINCT FROM b", "accounts")]
    [InlineData("SELECT * FROM generate_series(1, 3)", "")]
    [InlineData("SELECT * FROM accounts, json_each(accounts.tags)", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE id = $1 AND x = @p AND y = :q AND z = ?", "accounts")]
    public void Is_not_fooled_by_text(string sql, string expected)
        => Assert.Equal(expected.Length == 0 ? [] : expected.Split(','), Names(sql));

    [Theory]
    [InlineData("WITH orders AS (SELECT * FROM accounts) SELECT * FROM orders", "accounts")]
    [InlineData("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", "")]
    [InlineData("WITH a AS (SELECT * FROM t1), b AS MATERIALIZED (SELECT * FROM t2) SELECT * FROM a JOIN b ON true", "t1,t2")]
    [InlineData("WITH moved AS (DELETE FROM src RETURNING *) INSERT INTO dst SELECT * FROM moved", "src,dst")]
    public void Names_defined_by_with_are_not_tables(string sql, string expected)
        => Assert.Equal(expected.Length == 0 ? [] : expected.Split(','), Names(sql));

    [Fact]
    public void Qualified_and_quoted_names_keep_schema_and_case()
    {
        var scan = SqlTableReferenceScanner.Scan("SELECT * FROM public.accounts JOIN \"Sales\".\"Orders\" ON true JOIN [Weird Name] ON true");

        Assert.Equal(
            [new TableReference("public", "accounts", false), new TableReference("Sales", "Orders", true), new TableReference(null, "Weird Name", true)],
            scan.Tables);
    }

    [Theory]
    [InlineData("CREATE TABLE t (id int PRIMARY KEY, other_id int REFERENCES other(id))", "t,other", "t")]
    [InlineData("CREATE TABLE IF NOT EXISTS t (id int)", "t", "t")]
    [InlineData("CREATE TEMP TABLE t (id int)", "t", "t")]
    [InlineData("ALTER TABLE t ADD COLUMN x int", "t", "t")]
    [InlineData("DROP TABLE IF EXISTS t", "t", "t")]
    [InlineData("CREATE UNIQUE INDEX ix ON t (a, b)", "t", "t")]
    [InlineData("CREATE VIEW v AS SELECT * FROM t", "t", "v")]
    [InlineData("CREATE TRIGGER tr AFTER UPDATE OF x ON t BEGIN UPDATE audit SET n = n + 1; END", "t,audit", "")]
    public void Ddl_is_recognised_with_its_targets(string sql, string tables, string targets)
    {
        var scan = SqlTableReferenceScanner.Scan(sql);

        Assert.Equal(StatementKind.Ddl, scan.Kind);
        Assert.Equal(tables.Split(','), scan.Tables.Select(t => t.Name));
        Assert.Equal(targets.Length == 0 ? [] : targets.Split(','), scan.DdlTargets.Select(t => t.Name));
    }

    [Theory]
    [InlineData("SELECT 1", "Query")]
    [InlineData("  with x as (select 1) select * from x", "Query")]
    [InlineData("INSERT INTO t VALUES (1)", "Dml")]
    [InlineData("BEGIN", "TransactionControl")]
    [InlineData("PRAGMA journal_mode", "Other")]
    [InlineData("SELECT 1; CREATE TABLE t (id int)", "Ddl")]
    [InlineData("", "Other")]
    [InlineData("   ", "Other")]
    public void Classifies_statements(string sql, string kind)
        => Assert.Equal(Enum.Parse<StatementKind>(kind), SqlTableReferenceScanner.Scan(sql).Kind);

    [Fact]
    public void Several_statements_are_scanned_and_deduplicated()
        => Assert.Equal(["a", "b"], Names("SELECT * FROM a; UPDATE b SET x = 1; DELETE FROM a"));

    [Theory]
    [InlineData("SELECT 'unterminated FROM orders")]
    [InlineData("SELECT /* unterminated FROM orders")]
    [InlineData("SELECT \"unterminated")]
    [InlineData("SELECT $$ unterminated")]
    [InlineData(")))(((FROM,,,.;;")]
    [InlineData("FROM")]
    public void Garbage_never_throws(string sql)
        => Assert.DoesNotContain("orders", Names(sql));

    private static string[] Names(string sql) => SqlTableReferenceScanner.Scan(sql).Tables.Select(t => t.Name).ToArray();
}

using System.Text;
using Khonsu.Data.Routing;

namespace Khonsu.Data.Tests.Routing;

public class SqlTableReferenceScannerTests
{
    [Theory]
    [InlineData("SELECT * FROM orders", "orders")]
    [InlineData("select id from Orders where id = 1", "orders")]
    [InlineData("SELECT*FROM orders", "orders")]
    [InlineData("SELECT * FROM/* a comment */orders--another\nJOIN accounts ON true", "orders, accounts")]
    [InlineData("SELECT * FROM orders o JOIN accounts a ON a.id = o.account_id", "orders, accounts")]
    [InlineData("SELECT * FROM orders LEFT OUTER JOIN accounts ON true RIGHT JOIN refunds ON true", "orders, accounts, refunds")]
    [InlineData("SELECT * FROM orders INNER JOIN accounts ON true FULL OUTER JOIN refunds ON true CROSS JOIN limits", "orders, accounts, refunds, limits")]
    [InlineData("SELECT * FROM orders NATURAL JOIN accounts", "orders, accounts")]
    [InlineData("SELECT * FROM orders JOIN accounts USING (account_id)", "orders, accounts")]
    [InlineData("SELECT * FROM orders t1 JOIN accounts t2 ON t1.account_id = t2.id", "orders, accounts")]
    [InlineData("SELECT * FROM a, b x, c AS y WHERE a.id = x.id", "a, b, c")]
    [InlineData("SELECT * FROM a JOIN b USING (id), c", "a, b, c")]
    [InlineData("SELECT * FROM orders TABLESAMPLE SYSTEM (10), accounts", "orders, accounts")]
    [InlineData("SELECT * FROM orders WHERE account_id IN (SELECT id FROM accounts)", "orders, accounts")]
    [InlineData("SELECT (SELECT count(*) FROM refunds) AS n, id FROM orders", "refunds, orders")]
    [InlineData("SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM accounts WHERE accounts.id = orders.account_id)", "orders, accounts")]
    [InlineData("SELECT * FROM (SELECT * FROM orders) AS o", "orders")]
    [InlineData("SELECT * FROM (SELECT a, b FROM orders) x, accounts", "orders, accounts")]
    [InlineData("SELECT * FROM ((SELECT id FROM orders) UNION (SELECT id FROM refunds)) AS u", "orders, refunds")]
    [InlineData("SELECT * FROM (orders JOIN accounts ON true)", "orders, accounts")]
    [InlineData("SELECT * FROM (orders o LEFT JOIN (accounts a JOIN limits l ON true) ON true), refunds", "orders, accounts, limits, refunds")]
    [InlineData("SELECT * FROM (orders, accounts)", "orders, accounts")]
    [InlineData("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, name)", "")]
    [InlineData("SELECT * FROM orders WHERE x = 1 ORDER BY amount, account_id", "orders")]
    [InlineData("SELECT account_id, sum(amount) FROM orders GROUP BY account_id, status HAVING count(*) > 1", "orders")]
    [InlineData("SELECT * FROM orders LIMIT 10, 20", "orders")]
    [InlineData("SELECT * FROM orders FOR UPDATE OF orders SKIP LOCKED", "orders")]
    [InlineData("SELECT rank() OVER w FROM orders WINDOW w AS (PARTITION BY a), w2 AS (ORDER BY b)", "orders")]
    [InlineData("SELECT * FROM orders UNION ALL SELECT * FROM refunds EXCEPT SELECT * FROM limits", "orders, refunds, limits")]
    [InlineData("SELECT * FROM orders INDEXED BY ix_amount WHERE amount > 1", "orders")]
    [InlineData("SELECT count(*) FILTER (WHERE amount > 0) OVER (PARTITION BY account_id ORDER BY id) FROM orders", "orders")]
    [InlineData("SELECT * FROM orders ORDER BY amount USING >", "orders")]
    [InlineData("DECLARE c CURSOR FOR SELECT * FROM orders", "orders")]
    [InlineData("EXPLAIN ANALYZE SELECT * FROM orders", "orders")]
    [InlineData("EXPLAIN QUERY PLAN SELECT * FROM orders", "orders")]
    public void Finds_tables_in_queries(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("INSERT INTO orders (id, amount) VALUES (1, 2)", "orders")]
    [InlineData("INSERT INTO orders VALUES (1, 2), (3, 4)", "orders")]
    [InlineData("INSERT INTO orders DEFAULT VALUES RETURNING id, amount", "orders")]
    [InlineData("INSERT OR REPLACE INTO orders VALUES (1)", "orders")]
    [InlineData("INSERT OR IGNORE INTO orders VALUES (1)", "orders")]
    [InlineData("REPLACE INTO orders VALUES (1)", "orders")]
    [InlineData("INSERT INTO archive SELECT * FROM orders WHERE amount > 10", "archive, orders")]
    [InlineData("INSERT INTO archive (id, amount) SELECT id, amount FROM orders, refunds", "archive, orders, refunds")]
    [InlineData("INSERT INTO archive (id) SELECT id FROM orders UNION SELECT id FROM refunds", "archive, orders, refunds")]
    [InlineData("INSERT INTO archive (SELECT * FROM orders)", "archive, orders")]
    [InlineData("INSERT INTO temp.scratch SELECT * FROM orders", "temp.scratch, orders")]
    [InlineData("INSERT INTO temp VALUES (1)", "temp")]
    [InlineData("INSERT INTO orders VALUES (:from, :orders, @join, $1, ?, ?2, $name)", "orders")]
    [InlineData("SELECT * INTO TEMP TABLE scratch FROM orders", "scratch, orders")]
    [InlineData("SELECT * INTO archive FROM orders", "archive, orders")]
    [InlineData("UPDATE orders SET amount = 1", "orders")]
    [InlineData("UPDATE OR IGNORE orders SET amount = 1", "orders")]
    [InlineData("UPDATE OR ROLLBACK orders SET amount = 1", "orders")]
    [InlineData("UPDATE ONLY orders SET amount = 1", "orders")]
    [InlineData("UPDATE orders AS o SET amount = 1, status = 'x'", "orders")]
    [InlineData("UPDATE orders o SET amount = a.balance FROM accounts a, limits l WHERE a.id = o.account_id", "orders, accounts, limits")]
    [InlineData("UPDATE orders SET amount = (SELECT max(balance) FROM accounts WHERE accounts.id = orders.account_id)", "orders, accounts")]
    [InlineData("UPDATE orders SET (amount, status) = (SELECT 1, 'x' FROM limits) RETURNING id, amount", "orders, limits")]
    [InlineData("DELETE FROM orders WHERE id = 1", "orders")]
    [InlineData("DELETE FROM ONLY orders", "orders")]
    [InlineData("DELETE FROM orders WHERE rowid IN (SELECT rowid FROM orders LIMIT 5)", "orders")]
    [InlineData("DELETE FROM orders USING accounts, limits WHERE accounts.id = orders.account_id", "orders, accounts, limits")]
    [InlineData("DELETE FROM orders USING accounts a JOIN limits l USING (id) WHERE true", "orders, accounts, limits")]
    [InlineData("DELETE FROM orders o USING (SELECT id FROM refunds) r WHERE o.id = r.id RETURNING o.id, o.amount", "orders, refunds")]
    [InlineData("TRUNCATE orders", "orders")]
    [InlineData("TRUNCATE TABLE orders, accounts RESTART IDENTITY CASCADE", "orders, accounts")]
    [InlineData("TRUNCATE ONLY orders", "orders")]
    [InlineData("MERGE INTO orders o USING staged s ON o.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount WHEN NOT MATCHED THEN INSERT (id, amount) VALUES (s.id, s.amount)", "orders, staged")]
    [InlineData("MERGE INTO orders USING (SELECT * FROM staged) s ON orders.id = s.id WHEN MATCHED THEN DELETE", "orders, staged")]
    [InlineData("COPY orders (id, amount) FROM STDIN WITH (FORMAT csv)", "orders")]
    [InlineData("COPY orders FROM '/tmp/orders.csv'", "orders")]
    [InlineData("COPY orders TO STDOUT", "orders")]
    [InlineData("COPY (SELECT * FROM orders JOIN accounts ON true) TO STDOUT", "orders, accounts")]
    [InlineData("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE", "orders")]
    [InlineData("LOCK orders, ONLY accounts IN SHARE MODE", "orders, accounts")]
    [InlineData("TABLE orders", "orders")]
    [InlineData("SELECT * FROM refunds UNION TABLE orders", "refunds, orders")]
    [InlineData("EXPLAIN ANALYZE UPDATE orders SET amount = 1", "orders")]
    [InlineData("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM orders USING refunds", "orders, refunds")]
    [InlineData("PREPARE p (int) AS UPDATE orders SET amount = $1", "orders")]
    public void Finds_tables_in_data_changes(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("INSERT INTO t (id, v) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET v = excluded.v", "t")]
    [InlineData("INSERT INTO t(id, v) VALUES (1, 'a') ON CONFLICT(id) DO UPDATE SET v = excluded.v WHERE excluded.v <> t.v", "t")]
    [InlineData("INSERT INTO t SELECT * FROM s WHERE true ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b", "t, s")]
    [InlineData("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING RETURNING id, v", "t")]
    [InlineData("INSERT INTO t AS x VALUES (1) ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET v = x.v + 1", "t")]
    public void Upserts_name_only_their_table(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("CREATE TABLE orders (id int)", "orders")]
    [InlineData("CREATE TABLE IF NOT EXISTS orders (id int)", "orders")]
    [InlineData("CREATE TEMP TABLE scratch AS SELECT * FROM orders", "scratch, orders")]
    [InlineData("CREATE UNLOGGED TABLE scratch (LIKE orders INCLUDING ALL, note text CHECK (note LIKE 'a%'))", "scratch, orders")]
    [InlineData("CREATE TABLE scratch (id int, LIKE public.orders)", "scratch, public.orders")]
    [InlineData("CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", "orders_2024, orders")]
    [InlineData("CREATE TABLE orders (id int, at date) PARTITION BY RANGE (at)", "orders")]
    [InlineData("CREATE TABLE child (x int) INHERITS (parent, other)", "child, parent, other")]
    [InlineData("SELECT name FROM accounts WHERE (name LIKE 'a%'), like('b%', name)", "accounts")]
    [InlineData("CREATE TABLE orders (id int PRIMARY KEY, account_id int REFERENCES accounts(id) ON DELETE CASCADE ON UPDATE NO ACTION)", "orders, accounts")]
    [InlineData("CREATE TABLE orders (id int, account_id int, FOREIGN KEY (account_id) REFERENCES \"Accounts\" (id) ON UPDATE CASCADE, CHECK (id > 0))", "orders, \"Accounts\"")]
    [InlineData("CREATE TABLE orders (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES ledger.accounts ON UPDATE SET NULL) WITHOUT ROWID", "orders, ledger.accounts")]
    [InlineData("ALTER TABLE orders ADD COLUMN note text", "orders")]
    [InlineData("ALTER TABLE IF EXISTS ONLY orders DROP COLUMN note", "orders")]
    [InlineData("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (account_id) REFERENCES accounts (id)", "orders, accounts")]
    [InlineData("ALTER TABLE orders ALTER COLUMN amount TYPE numeric USING amount::numeric", "orders")]
    [InlineData("DROP TABLE orders", "orders")]
    [InlineData("DROP TABLE IF EXISTS orders, accounts CASCADE", "orders, accounts")]
    [InlineData("CREATE INDEX ix ON orders (amount)", "orders")]
    [InlineData("CREATE UNIQUE INDEX IF NOT EXISTS ix ON orders(amount) WHERE amount > 0", "orders")]
    [InlineData("CREATE INDEX CONCURRENTLY ix ON public.orders USING btree (amount)", "public.orders")]
    [InlineData("CREATE INDEX ON orders USING gin (tags)", "orders")]
    [InlineData("CREATE INDEX main.ix ON orders (amount)", "orders")]
    [InlineData("CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100", "big_orders, orders")]
    [InlineData("CREATE OR REPLACE TEMP VIEW v (id) AS SELECT id FROM orders", "v, orders")]
    [InlineData("CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT * FROM orders WITH NO DATA", "mv, orders")]
    [InlineData("CREATE VIEW v AS WITH x AS (SELECT * FROM orders) SELECT * FROM x, accounts", "v, orders, accounts")]
    [InlineData("CREATE VIRTUAL TABLE docs USING fts5(title, body)", "docs")]
    [InlineData("CREATE TABLE t AS TABLE orders", "t, orders")]
    [InlineData("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "mv")]
    [InlineData("COMMENT ON TABLE orders IS 'FROM accounts'", "orders")]
    [InlineData("GRANT SELECT ON TABLE orders TO reporting", "orders")]
    [InlineData("REVOKE SELECT ON TABLE orders FROM reporting", "orders")]
    [InlineData("CREATE FUNCTION f() RETURNS TABLE (id int, orders int) AS $$ SELECT id, 1 FROM orders $$ LANGUAGE sql", "")]
    [InlineData("DROP INDEX ix", "")]
    [InlineData("CREATE SEQUENCE orders_seq", "")]
    public void Finds_tables_in_schema_changes(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("CREATE TRIGGER audit_orders AFTER INSERT OR UPDATE OF amount, status ON public.orders FOR EACH ROW EXECUTE FUNCTION audit()", "public.orders")]
    [InlineData("CREATE TRIGGER t BEFORE UPDATE ON orders FOR EACH ROW WHEN (OLD.amount IS DISTINCT FROM NEW.amount) EXECUTE PROCEDURE audit()", "orders")]
    [InlineData("CREATE TEMP TRIGGER IF NOT EXISTS t INSTEAD OF UPDATE ON v BEGIN UPDATE orders SET amount = NEW.amount WHERE id = OLD.id; END", "v, orders")]
    [InlineData(
        """
        CREATE TRIGGER trg AFTER INSERT ON orders FOR EACH ROW WHEN NEW.amount > 0
        BEGIN
            UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.account_id;
            INSERT INTO audit (msg) VALUES (CASE WHEN NEW.amount > 100 THEN 'big' ELSE 'small' END);
            DELETE FROM pending WHERE id = NEW.id;
        END;
        SELECT * FROM after_trigger
        """,
        "orders, accounts, audit, pending, after_trigger")]
    [InlineData("CREATE FUNCTION n() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM orders; UPDATE accounts SET x = 1; END; SELECT * FROM refunds", "orders, accounts, refunds")]
    [InlineData("CREATE RULE r AS ON INSERT TO orders DO ALSO (INSERT INTO audit VALUES (1); UPDATE accounts SET x = 1)", "audit, accounts")]
    public void Finds_tables_in_triggers_and_routine_bodies(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("SELECT 1", "")]
    [InlineData("SELECT 'orders' FROM accounts", "accounts")]
    [InlineData("SELECT \"orders\" FROM accounts", "accounts")]
    [InlineData("SELECT owner AS \"orders\" FROM accounts WHERE id = 1", "accounts")]
    [InlineData("SELECT [orders], `refunds` FROM accounts", "accounts")]
    [InlineData("SELECT x AS orders FROM t", "t")]
    [InlineData("SELECT t.orders, orders.x FROM t", "t")]
    [InlineData("SELECT owner FROM accounts -- FROM orders", "accounts")]
    [InlineData("SELECT owner FROM accounts -- ; DELETE FROM orders\nWHERE id = 1", "accounts")]
    [InlineData("SELECT owner FROM accounts /* JOIN orders */ WHERE id = 1", "accounts")]
    [InlineData("SELECT /* outer /* nested */ FROM orders */ 1 FROM accounts", "accounts")]
    [InlineData("SELECT 'it''s FROM orders' FROM accounts", "accounts")]
    [InlineData("SELECT 'a\\' FROM accounts", "accounts")]
    [InlineData("SELECT E'it\\'s FROM orders' FROM accounts", "accounts")]
    [InlineData("SELECT e'\\\\' FROM accounts", "accounts")]
    [InlineData("SELECT $$ FROM orders $$ FROM accounts", "accounts")]
    [InlineData("SELECT $body$ it's FROM orders; $$ still $body$ FROM accounts", "accounts")]
    [InlineData("SELECT $a$ $b$ FROM orders $b$ $a$ FROM accounts", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE id = $1 AND note = $2", "accounts")]
    [InlineData("SELECT x'00FF', b'101' FROM accounts", "accounts")]
    [InlineData("SELECT EXTRACT(YEAR FROM created_at) FROM orders", "orders")]
    [InlineData("SELECT extract(epoch from created_at), extract(epoch from now())", "")]
    [InlineData("SELECT SUBSTRING(name FROM first FOR size) FROM accounts", "accounts")]
    [InlineData("SELECT TRIM(BOTH ' ' FROM name), TRIM(LEADING FROM name) FROM accounts", "accounts")]
    [InlineData("SELECT OVERLAY(name PLACING 'x' FROM first FOR 1) FROM accounts", "accounts")]
    [InlineData("SELECT POSITION('x' IN name), substring(name from 'o.*' for '#') FROM accounts", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE a IS DISTINCT FROM b", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE a IS NOT DISTINCT FROM b", "accounts")]
    [InlineData("SELECT EXTRACT(EPOCH FROM (SELECT max(created_at) FROM orders))", "orders")]
    [InlineData("SELECT * FROM accounts WHERE a IS DISTINCT FROM (SELECT max(id) FROM orders)", "accounts, orders")]
    [InlineData("SELECT name FROM accounts WHERE id = @from AND x = :orders AND y = $1 AND z = ?", "accounts")]
    [InlineData("SELECT a::text, b::orders FROM accounts", "accounts")]
    [InlineData("SELECT 'orders'::regclass", "")]
    [InlineData("SELECT a[1], (arr)[2:3], \"arr\"[1][2] FROM orders", "orders")]
    [InlineData("SELECT ARRAY[(SELECT id FROM orders LIMIT 1)]", "orders")]
    [InlineData("SELECT 1.5e-3, .5, 0x1F FROM accounts", "accounts")]
    [InlineData("FETCH NEXT FROM orders_cursor", "")]
    [InlineData("MOVE FORWARD 5 FROM orders_cursor", "")]
    [InlineData("SET search_path FROM CURRENT", "")]
    [InlineData("DO $$ BEGIN DELETE FROM orders; END $$", "")]
    [InlineData("PRAGMA table_info(orders)", "")]
    public void Text_that_is_no_table_reference_is_ignored(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("SELECT * FROM generate_series(1, 3)", "")]
    [InlineData("SELECT * FROM generate_series(1, 3) AS g(n), orders", "orders")]
    [InlineData("SELECT * FROM json_each('{\"orders\": 1}')", "")]
    [InlineData("SELECT * FROM json_each(x), orders", "orders")]
    [InlineData("SELECT * FROM pragma_table_info('orders')", "")]
    [InlineData("SELECT * FROM pg_catalog.generate_series(1, 3)", "")]
    [InlineData("SELECT * FROM orders o, unnest(o.tags) AS t", "orders")]
    [InlineData("SELECT * FROM orders JOIN json_each(orders.items) ON true", "orders")]
    [InlineData("SELECT * FROM ROWS FROM (generate_series(1, 3), unnest(ARRAY[1, 2])) AS r(a, b)", "")]
    [InlineData("SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY AS u(v, n), orders", "orders")]
    public void Table_valued_functions_are_no_tables(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("SELECT DISTINCT ON (account_id) account_id, amount FROM orders ORDER BY account_id, amount DESC", "orders")]
    [InlineData("SELECT * FROM accounts a, LATERAL (SELECT * FROM orders o WHERE o.account_id = a.id LIMIT 1) o", "accounts, orders")]
    [InlineData("SELECT * FROM accounts a LEFT JOIN LATERAL (SELECT * FROM orders WHERE account_id = a.id) o ON true", "accounts, orders")]
    [InlineData("SELECT * FROM accounts a CROSS JOIN LATERAL generate_series(1, a.n) AS g", "accounts")]
    [InlineData("SELECT * FROM accounts a JOIN LATERAL refunds r ON true", "accounts, refunds")]
    [InlineData("SELECT * FROM ONLY orders", "orders")]
    [InlineData("SELECT * FROM ONLY orders *, accounts", "orders, accounts")]
    [InlineData("SELECT * FROM orders NATURAL LEFT JOIN accounts", "orders, accounts")]
    public void Handles_postgres_from_clause_forms(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("WITH recent AS (SELECT * FROM orders WHERE created > now() - interval '1 day') SELECT * FROM recent JOIN accounts ON true", "orders, accounts")]
    [InlineData("WITH orders AS (SELECT * FROM archive) SELECT * FROM orders", "archive")]
    [InlineData("WITH orders AS (SELECT * FROM orders WHERE amount > 0) SELECT * FROM orders", "orders")]
    [InlineData("WITH RECURSIVE tree(id, parent) AS (SELECT id, parent FROM nodes WHERE parent IS NULL UNION ALL SELECT n.id, n.parent FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree", "nodes")]
    [InlineData("WITH RECURSIVE t(id) AS (SELECT id FROM nodes UNION ALL SELECT n.id FROM nodes n JOIN t ON n.parent = t.id) SEARCH DEPTH FIRST BY id SET ordercol SELECT * FROM t ORDER BY ordercol", "nodes")]
    [InlineData("WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a JOIN accounts ON true) SELECT * FROM b, a, refunds", "orders, accounts, refunds")]
    [InlineData("WITH x AS MATERIALIZED (SELECT 1), y AS NOT MATERIALIZED (SELECT 2) SELECT * FROM x, y", "")]
    [InlineData("WITH \"Recent\" AS (SELECT 1) SELECT * FROM \"Recent\"", "")]
    [InlineData("with Recent as (select 1) select * from RECENT", "")]
    [InlineData("WITH moved AS (DELETE FROM orders WHERE amount = 0 RETURNING *) INSERT INTO archive SELECT * FROM moved", "orders, archive")]
    [InlineData("WITH changed AS (UPDATE orders SET amount = 0 RETURNING id) SELECT * FROM changed", "orders")]
    [InlineData("WITH x AS (SELECT * FROM orders) UPDATE accounts SET n = (SELECT count(*) FROM x)", "orders, accounts")]
    [InlineData("WITH x AS (SELECT id FROM refunds) DELETE FROM orders USING x WHERE orders.id = x.id", "refunds, orders")]
    [InlineData("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) q, x", "x")]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM s.x", "s.x")]
    [InlineData("INSERT INTO archive WITH x AS (SELECT * FROM orders) SELECT * FROM x", "archive, orders")]
    [InlineData("WITH orders AS (SELECT 1) SELECT * FROM orders; SELECT * FROM orders", "orders")]
    [InlineData("EXPLAIN WITH x AS (SELECT * FROM orders) SELECT * FROM x", "orders")]
    public void Names_a_with_clause_defines_are_no_tables(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("SELECT * FROM public.orders", "public", "orders", false)]
    [InlineData("SELECT * FROM Sales.Orders", "sales", "orders", false)]
    [InlineData("SELECT * FROM \"Sales\".\"Orders\"", "Sales", "Orders", true)]
    [InlineData("SELECT * FROM \"Orders\"", null, "Orders", true)]
    [InlineData("SELECT * FROM ORDERS", null, "orders", false)]
    [InlineData("SELECT * FROM sales.\"Orders\"", "sales", "Orders", true)]
    [InlineData("SELECT * FROM [Order Details]", null, "Order Details", true)]
    [InlineData("SELECT * FROM main.[Orders]", "main", "Orders", true)]
    [InlineData("SELECT*FROM[Orders]", null, "Orders", true)]
    [InlineData("SELECT * FROM `Orders`", null, "Orders", true)]
    [InlineData("SELECT * FROM \"we\"\"ird\"", null, "we\"ird", true)]
    [InlineData("SELECT * FROM `a``b`", null, "a`b", true)]
    [InlineData("SELECT * FROM mydb.public.orders", "public", "orders", false)]
    [InlineData("SELECT * FROM orders$2024", null, "orders$2024", false)]
    [InlineData("SELECT * FROM ÉTÉ", null, "ÉtÉ", false)]
    [InlineData("SELECT * FROM _Orders_1", null, "_orders_1", false)]
    [InlineData("INSERT INTO \"Audit\".\"Log\" VALUES (1)", "Audit", "Log", true)]
    [InlineData("UPDATE Ledger.Accounts SET x = 1", "ledger", "accounts", false)]
    public void Reads_qualified_and_quoted_names(string sql, string? schema, string name, bool quoted)
    {
        var table = Assert.Single(SqlTableReferenceScanner.Scan(sql).Tables);
        Assert.Equal(new TableReference(schema, name, quoted), table);
    }

    [Theory]
    [InlineData("SELECT * FROM orders JOIN accounts ON true JOIN orders o2 ON true", "orders, accounts")]
    [InlineData("SELECT * FROM a; SELECT * FROM b; SELECT * FROM a", "a, b")]
    [InlineData("SELECT * FROM Orders JOIN ORDERS ON true", "orders")]
    [InlineData("SELECT * FROM orders JOIN \"orders\" ON true JOIN public.orders ON true", "orders, \"orders\", public.orders")]
    public void Deduplicates_keeping_first_occurrence_order(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Fact]
    public void Deduplicates_many_tables()
    {
        var sql = new StringBuilder("SELECT 1");
        for (var round = 0; round < 2; round++)
        {
            for (var t = 0; t < 100; t++)
            {
                sql.Append($" UNION SELECT * FROM t{t}");
            }
        }

        var tables = SqlTableReferenceScanner.Scan(sql.ToString()).Tables;

        Assert.Equal(Enumerable.Range(0, 100).Select(t => $"t{t}"), tables.Select(t => t.Name));
    }

    [Theory]
    [InlineData("INSERT INTO orders VALUES (1); SELECT * FROM accounts; DELETE FROM refunds", "orders, accounts, refunds")]
    [InlineData("SELECT 1;;  ; SELECT * FROM b;", "b")]
    [InlineData("BEGIN; UPDATE accounts SET x = 1; INSERT INTO orders SELECT * FROM staged; COMMIT;", "accounts, orders, staged")]
    [InlineData("CREATE TABLE a (id int); CREATE INDEX ix ON b (id); DROP TABLE c", "a, b, c")]
    public void Scans_every_statement_of_a_text(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Theory]
    [InlineData("BEGIN; INSERT INTO orders VALUES (1); COMMIT", true)]
    [InlineData("INSERT INTO orders VALUES (1); COMMIT", true)]
    [InlineData("UPDATE orders SET x = 1; SAVEPOINT s; DELETE FROM orders; ROLLBACK TO SAVEPOINT s", true)]
    [InlineData("START TRANSACTION; DELETE FROM orders", true)]
    [InlineData("INSERT INTO orders VALUES (1); SELECT 1", false)]
    [InlineData("UPDATE orders SET state = CASE WHEN x THEN 1 ELSE 0 END", false)]
    [InlineData("INSERT INTO notes VALUES ('BEGIN; COMMIT')", false)]
    public void Tells_whether_any_statement_of_a_text_manages_its_own_transaction(string sql, bool controls)
        => Assert.Equal(controls, SqlTableReferenceScanner.Scan(sql).ControlsTransaction);

    [Theory]
    [InlineData("SELECT 1", nameof(StatementKind.Query))]
    [InlineData("  select * from orders", nameof(StatementKind.Query))]
    [InlineData("/* leading comment */ SELECT 1", nameof(StatementKind.Query))]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x", nameof(StatementKind.Query))]
    [InlineData("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", nameof(StatementKind.Query))]
    [InlineData("SELECT 1; INSERT INTO t VALUES (1)", nameof(StatementKind.Query))]
    [InlineData(";; -- nothing yet\n SELECT 1", nameof(StatementKind.Query))]
    [InlineData("VALUES (1), (2)", nameof(StatementKind.Query))]
    [InlineData("EXPLAIN SELECT * FROM orders", nameof(StatementKind.Query))]
    [InlineData("EXPLAIN ANALYZE UPDATE orders SET x = 1", nameof(StatementKind.Query))]
    [InlineData("(SELECT 1) UNION (SELECT 2)", nameof(StatementKind.Query))]
    [InlineData("TABLE orders", nameof(StatementKind.Query))]
    [InlineData("INSERT INTO orders VALUES (1)", nameof(StatementKind.Dml))]
    [InlineData("-- comment\nINSERT INTO orders VALUES (1)", nameof(StatementKind.Dml))]
    [InlineData("UPDATE orders SET x = 1", nameof(StatementKind.Dml))]
    [InlineData("DELETE FROM orders", nameof(StatementKind.Dml))]
    [InlineData("REPLACE INTO orders VALUES (1)", nameof(StatementKind.Dml))]
    [InlineData("MERGE INTO orders USING staged ON true WHEN MATCHED THEN DELETE", nameof(StatementKind.Dml))]
    [InlineData("UPSERT INTO orders VALUES (1)", nameof(StatementKind.Dml))]
    [InlineData("COPY orders FROM STDIN", nameof(StatementKind.Dml))]
    [InlineData("TRUNCATE orders", nameof(StatementKind.Dml))]
    [InlineData("WITH d AS (SELECT 1) DELETE FROM orders", nameof(StatementKind.Dml))]
    [InlineData("WITH d AS (SELECT 1) INSERT INTO orders SELECT * FROM d", nameof(StatementKind.Dml))]
    [InlineData("CREATE TABLE t (id int)", nameof(StatementKind.Ddl))]
    [InlineData("ALTER TABLE t ADD COLUMN x int", nameof(StatementKind.Ddl))]
    [InlineData("DROP TABLE t", nameof(StatementKind.Ddl))]
    [InlineData("CREATE INDEX ix ON t (x)", nameof(StatementKind.Ddl))]
    [InlineData("RENAME TABLE a TO b", nameof(StatementKind.Ddl))]
    [InlineData("COMMENT ON TABLE t IS 'x'", nameof(StatementKind.Ddl))]
    [InlineData("SELECT 1; DROP TABLE t", nameof(StatementKind.Ddl))]
    [InlineData("BEGIN; CREATE TABLE t (id int); COMMIT", nameof(StatementKind.Ddl))]
    [InlineData("BEGIN", nameof(StatementKind.TransactionControl))]
    [InlineData("BEGIN TRANSACTION", nameof(StatementKind.TransactionControl))]
    [InlineData("BEGIN IMMEDIATE", nameof(StatementKind.TransactionControl))]
    [InlineData("COMMIT", nameof(StatementKind.TransactionControl))]
    [InlineData("END", nameof(StatementKind.TransactionControl))]
    [InlineData("ROLLBACK", nameof(StatementKind.TransactionControl))]
    [InlineData("ROLLBACK TO SAVEPOINT s", nameof(StatementKind.TransactionControl))]
    [InlineData("SAVEPOINT s", nameof(StatementKind.TransactionControl))]
    [InlineData("RELEASE SAVEPOINT s", nameof(StatementKind.TransactionControl))]
    [InlineData("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", nameof(StatementKind.TransactionControl))]
    [InlineData("PREPARE TRANSACTION 'tx1'", nameof(StatementKind.TransactionControl))]
    [InlineData("COMMIT PREPARED 'tx1'", nameof(StatementKind.TransactionControl))]
    [InlineData("ABORT", nameof(StatementKind.TransactionControl))]
    [InlineData("BEGIN; INSERT INTO t VALUES (1); COMMIT", nameof(StatementKind.TransactionControl))]
    [InlineData("PRAGMA foreign_keys = ON", nameof(StatementKind.Other))]
    [InlineData("SET search_path TO public", nameof(StatementKind.Other))]
    [InlineData("SHOW server_version", nameof(StatementKind.Other))]
    [InlineData("VACUUM", nameof(StatementKind.Other))]
    [InlineData("ANALYZE orders", nameof(StatementKind.Other))]
    [InlineData("LISTEN orders", nameof(StatementKind.Other))]
    [InlineData("PREPARE p AS SELECT 1", nameof(StatementKind.Other))]
    [InlineData("START", nameof(StatementKind.Other))]
    [InlineData("ATTACH DATABASE 'x.db' AS aux", nameof(StatementKind.Other))]
    [InlineData("", nameof(StatementKind.Other))]
    [InlineData("   \r\n\t ", nameof(StatementKind.Other))]
    [InlineData("-- only a comment", nameof(StatementKind.Other))]
    [InlineData(";;", nameof(StatementKind.Other))]
    [InlineData("42", nameof(StatementKind.Other))]
    public void Tells_the_statement_kind(string sql, string expected) => Assert.Equal(expected, SqlTableReferenceScanner.Scan(sql).Kind.ToString());

    [Theory]
    [InlineData("CREATE TABLE orders (id int)", "orders")]
    [InlineData("CREATE TABLE IF NOT EXISTS \"Audit\".\"Log\" (id int)", "Audit.\"Log\"")]
    [InlineData("CREATE TABLE t AS SELECT * FROM s", "t")]
    [InlineData("CREATE TABLE t AS TABLE s", "t")]
    [InlineData("CREATE TABLE orders (account_id int REFERENCES accounts (id))", "orders")]
    [InlineData("ALTER TABLE orders RENAME TO old_orders", "orders")]
    [InlineData("ALTER MATERIALIZED VIEW mv RENAME TO mv2", "mv")]
    [InlineData("DROP TABLE IF EXISTS a, \"B\"", "a, \"B\"")]
    [InlineData("DROP VIEW IF EXISTS v", "v")]
    [InlineData("CREATE INDEX ix ON orders (amount)", "orders")]
    [InlineData("CREATE VIEW v AS SELECT * FROM orders", "v")]
    [InlineData("CREATE VIRTUAL TABLE docs USING fts5(body)", "docs")]
    [InlineData("CREATE TABLE a (id int); CREATE TABLE b (id int); SELECT * FROM c", "a, b")]
    [InlineData("CREATE TRIGGER t AFTER INSERT ON orders BEGIN SELECT 1; END", "")]
    [InlineData("DROP INDEX ix", "")]
    [InlineData("TRUNCATE orders", "")]
    [InlineData("SELECT * FROM orders", "")]
    public void Lists_the_tables_ddl_changes(string sql, string expected)
        => Assert.Equal(expected, string.Join(", ", SqlTableReferenceScanner.Scan(sql).DdlTargets.Select(Format)));

    [Theory]
    [InlineData("", "")]
    [InlineData(" \t\r\n ", "")]
    [InlineData("SELECT * FROM accounts WHERE x = 'unterminated FROM orders", "accounts")]
    [InlineData("SELECT * FROM accounts /* unterminated FROM orders", "accounts")]
    [InlineData("SELECT * FROM accounts /* /* */ still a comment FROM orders", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE x = $$ unterminated FROM orders", "accounts")]
    [InlineData("SELECT * FROM accounts WHERE x = E'unterminated \\' FROM orders", "accounts")]
    [InlineData("SELECT * FROM \"unterminated", "\"unterminated\"")]
    [InlineData("SELECT * FROM [unterminated", "\"unterminated\"")]
    [InlineData("SELECT * FROM \"\"", "")]
    [InlineData("SELECT * FROM", "")]
    [InlineData("SELECT * FROM s.", "s")]
    [InlineData("SELECT * FROM (((orders", "orders")]
    [InlineData("SELECT * FROM orders))) JOIN accounts ON true", "orders, accounts")]
    [InlineData("SELECT (1; SELECT * FROM orders", "orders")]
    [InlineData("WITH", "")]
    [InlineData("WITH x", "")]
    [InlineData("WITH x(", "")]
    [InlineData("WITH x AS", "")]
    [InlineData("WITH x AS (SELECT * FROM orders", "orders")]
    [InlineData("CREATE INDEX", "")]
    [InlineData("CREATE TRIGGER t BEGIN", "")]
    [InlineData("CREATE TRIGGER t AFTER INSERT ON orders BEGIN INSERT INTO audit VALUES (1);", "orders, audit")]
    [InlineData("INSERT INTO", "")]
    [InlineData("UPDATE", "")]
    [InlineData("DROP TABLE IF", "if")]
    [InlineData("$", "")]
    [InlineData("E", "")]
    [InlineData("e'", "")]
    [InlineData("[", "")]
    [InlineData("]", "")]
    [InlineData("*/ SELECT * FROM orders", "orders")]
    [InlineData("\0 FROM orders", "orders")]
    public void Is_lenient_with_broken_text(string sql, string expected) => Assert.Equal(expected, Tables(sql));

    [Fact]
    public void Null_text_names_nothing()
    {
        var result = SqlTableReferenceScanner.Scan(null!);

        Assert.Empty(result.Tables);
        Assert.Empty(result.DdlTargets);
        Assert.Equal(StatementKind.Other, result.Kind);
    }

    [Fact]
    public void Never_throws_on_any_prefix_or_suffix_of_real_statements()
    {
        string[] statements =
        [
            "WITH RECURSIVE t(id) AS (SELECT id FROM nodes UNION ALL SELECT n.id FROM nodes n JOIN t ON n.parent = t.id) SELECT * FROM t, \"Q\".\"R\"",
            "CREATE TRIGGER trg AFTER INSERT ON orders BEGIN UPDATE a SET b = CASE WHEN x THEN 1 END; INSERT INTO [c] VALUES ($1, :p, @q, ?); END;",
            "SELECT E'\\'', $t$ x $t$, 'a''b', `q`, /* /* */ */ x[1], ARRAY[(SELECT 1 FROM u)] FROM ONLY s.t * -- tail",
            "INSERT INTO t AS x (a) SELECT * FROM s WHERE true ON CONFLICT (a) DO UPDATE SET a = excluded.a RETURNING *",
            "MERGE INTO t USING (SELECT * FROM s) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
            "SELECT EXTRACT(YEAR FROM (SELECT ts FROM e)), TRIM(BOTH FROM x) FROM a IS DISTINCT FROM b",
        ];

        foreach (var sql in statements)
        {
            for (var length = 0; length <= sql.Length; length++)
            {
                AssertScans(sql[..length]);
                AssertScans(sql[length..]);
            }
        }
    }

    [Fact]
    public void Never_throws_on_random_text()
    {
        string[] pieces =
        [
            "SELECT", "FROM", "JOIN", "WITH", "RECURSIVE", "AS", "(", ")", ",", ".", ";", "'", "''", "\"", "[", "]", "`", "$", "$$",
            "$a$", "E'", "\\", "--", "/*", "*/", "\n", " ", "orders", "x", "INTO", "UPDATE", "DELETE", "USING", "CREATE", "TABLE",
            "INDEX", "ON", "TRIGGER", "BEGIN", "END", "CASE", "IS", "DISTINCT", "EXTRACT", "ONLY", "LATERAL", "IF", "NOT", "EXISTS",
            "OR", "IGNORE", "TEMP", "DROP", "ALTER", "VIEW", "REFERENCES", "COPY", "LOCK", "TRUNCATE", "MERGE", "VALUES", "@", ":",
            "?", "1", "ARRAY", "ROWS", "EXPLAIN", "PREPARE", "ATOMIC", "é", "\0", "\uD800",
        ];
        var random = new Random(20240611);
        for (var round = 0; round < 20_000; round++)
        {
            var sql = new StringBuilder();
            var count = random.Next(1, 30);
            for (var p = 0; p < count; p++)
            {
                sql.Append(random.Next(4) == 0 ? (char)random.Next(0, 0x3000) : pieces[random.Next(pieces.Length)]);
                if (random.Next(2) == 0)
                {
                    sql.Append(' ');
                }
            }

            AssertScans(sql.ToString());
        }
    }

    // No clock here (a loaded CI machine made a time bound fail): these inputs are large enough that
    // a scanner quadratic in them would not finish within the suite's time limit at all.
    [Fact]
    public void Scans_large_and_hostile_texts()
    {
        var many = string.Concat(Enumerable.Repeat("SELECT a, b FROM t1 JOIN t2 ON x WHERE y IN (SELECT z FROM t3); ", 20_000));
        Assert.Equal("t1, t2, t3", Tables(many));

        var deep = new string('(', 200_000) + "SELECT * FROM orders" + new string(')', 200_000);
        Assert.Equal("orders", Tables(deep));

        AssertScans(string.Concat(Enumerable.Repeat("WITH a(b, c ", 50_000)));
        AssertScans(string.Concat(Enumerable.Repeat("CREATE INDEX a b ", 50_000)));
        AssertScans("SELECT " + string.Concat(Enumerable.Repeat("$a", 50_000)));
        AssertScans("CREATE TRIGGER t " + string.Concat(Enumerable.Repeat("x ", 200_000)) + "ON orders");

        var cteHeavy = "WITH " + string.Join(", ", Enumerable.Range(0, 2_000).Select(n => $"c{n} AS (SELECT {n})"))
            + " SELECT * FROM " + string.Join(", ", Enumerable.Range(0, 2_000).Select(n => $"c{n}"));
        Assert.Equal(string.Empty, Tables(cteHeavy));
    }

    private static void AssertScans(string sql)
    {
        var result = SqlTableReferenceScanner.Scan(sql);
        Assert.NotNull(result.Tables);
        Assert.NotNull(result.DdlTargets);
        Assert.All(result.Tables, table => Assert.False(string.IsNullOrEmpty(table.Name)));
    }

    private static string Tables(string sql) => string.Join(", ", SqlTableReferenceScanner.Scan(sql).Tables.Select(Format));

    private static string Format(TableReference table)
        => (table.Schema is null ? string.Empty : table.Schema + ".") + (table.Quoted ? $"\"{table.Name}\"" : table.Name);
}

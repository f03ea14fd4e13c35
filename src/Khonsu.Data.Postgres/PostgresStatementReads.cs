using System.Text.Json;
using System.Text.RegularExpressions;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Learns from PostgreSQL's plan which tables a reading statement reads: EXPLAIN (VERBOSE, FORMAT
/// JSON) names the relation of every scan, under views, in subplans, CTEs and InitPlans. The plan
/// is the generic one (PREPARE, then EXECUTE with NULLs under force_generic_plan), because a plan
/// made for some parameter values may fold a branch, and its tables, away; PostgreSQL 15 has no
/// EXPLAIN (GENERIC_PLAN). It runs in a savepoint of the statement's own transaction, so it sees
/// what the statement sees and leaves nothing behind, and costs one round trip, once per SQL
/// text (the router caches the answer).
/// A plan does not see into functions (PL/pgSQL, SQL ones the planner does not inline, IMMUTABLE
/// ones it runs while planning) or triggers: a catalog query in the same round trip tells whether
/// the text's calls and operators, or the rules of the views it names, use a user function, and
/// such a statement may read any table. Writes, whose triggers and constraints may read more,
/// keep the SQL scanner's view; so do statements that name only tables and call nothing, which a
/// plan cannot improve on (no probe, no round trip).
/// </summary>
internal sealed partial class PostgresStatementReads
{
    private const string Name = "khonsu_read_probe";

    // Built-in functions that run a query given as text.
    private static readonly HashSet<string> QueryRunners = new(
        ["query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "table_to_xml", "table_to_xml_and_xmlschema", "schema_to_xml",
         "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xml_and_xmlschema", "cursor_to_xml", "ts_stat"],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the text's calls ({0}), its operators (those named in the text {3}, outside
    /// pg_catalog) or the rules of the relations it names ({1}, through views of views) run a
    /// function a plan cannot see into (condition {2} on p, its pg_proc row, and n, its namespace):
    /// a user function in a procedural language (SQL, PL/pgSQL...; C ones, an extension's, are
    /// taken not to read tables), a user aggregate, or a built-in one that runs a query given as text.
    /// </summary>
    private const string OpaqueQuery = """
        WITH RECURSIVE rels(oid) AS (
            SELECT r::oid FROM unnest(ARRAY[{1}]::regclass[]) AS r WHERE r IS NOT NULL
            UNION
            SELECT d.refobjid FROM rels JOIN pg_rewrite w ON w.ev_class = rels.oid
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass
        ), uses AS MATERIALIZED (
            SELECT d.refclassid, d.refobjid FROM rels JOIN pg_rewrite w ON w.ev_class = rels.oid
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
        ), called(oid) AS (
            SELECT p.oid FROM pg_proc p WHERE p.proname = ANY (ARRAY[{0}]::name[])
            UNION SELECT refobjid FROM uses WHERE refclassid = 'pg_proc'::regclass
            UNION SELECT o.oprcode::oid FROM uses JOIN pg_operator o ON o.oid = uses.refobjid WHERE uses.refclassid = 'pg_operator'::regclass
            UNION SELECT o.oprcode::oid FROM pg_operator o WHERE o.oprnamespace <> 'pg_catalog'::regnamespace AND position(o.oprname IN {3}) > 0
        )
        SELECT EXISTS (SELECT 1 FROM called JOIN pg_proc p ON p.oid = called.oid JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {2})
        """;

    private static readonly StatementReads Anything = new([], ReadsAnything: true);

    private int _probes;

    /// <summary>How many plans were asked for (for tests: the router asks once per text).</summary>
    public int Probes => Volatile.Read(ref _probes);

    public async ValueTask<StatementReads?> ProbeAsync(NpgsqlConnection connection, NpgsqlCommand command, bool namesUnknownRelations, bool writes, CancellationToken cancellationToken)
    {
        var sql = command.CommandText;
        var tokens = SqlTableReferenceScanner.Tokenize(sql);
        if (writes || command.CommandType != System.Data.CommandType.Text || !(namesUnknownRelations || PostgresProbeText.CallsSomething(sql, tokens)))
        {
            return null;
        }

        // Whatever stops the plan from being had leaves the statement reading anything, as an unknown name does.
        if (PostgresProbeText.Positional(sql, tokens, command.Parameters) is not var (text, parameters))
        {
            return Anything;
        }

        Interlocked.Increment(ref _probes);
        var arguments = parameters == 0 ? "" : "(" + string.Join(", ", Enumerable.Repeat("NULL", parameters)) + ")";
        var named = SqlTableReferenceScanner.Scan(sql).Tables.Select(t => $"to_regclass({PostgresSql.Literal(PostgresSql.Qualified(t.Schema, t.Name))})");
        var calls = PostgresProbeText.Calls(sql, tokens).Distinct().Select(PostgresSql.Literal);
        var opaqueQuery = string.Format(
            System.Globalization.CultureInfo.InvariantCulture,
            OpaqueQuery,
            string.Join(", ", calls.Append("NULL")),
            string.Join(", ", named.Append("NULL")),
            "((n.nspname NOT IN ('pg_catalog', 'information_schema', 'khonsu') AND (p.prokind = 'a' OR p.prolang NOT IN (SELECT l.oid FROM pg_language l WHERE l.lanname IN ('c', 'internal'))))"
                + " OR p.proname IN (" + string.Join(", ", QueryRunners.Select(PostgresSql.Literal)) + "))",
            PostgresSql.Literal(text));
        var probe = $"""
            SAVEPOINT {Name};
            SET LOCAL plan_cache_mode = force_generic_plan;
            PREPARE {Name} AS {text};
            EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE {Name}{arguments};
            DEALLOCATE {Name};
            {opaqueQuery};
            ROLLBACK TO SAVEPOINT {Name};
            RELEASE SAVEPOINT {Name}
            """;
        string plan;
        bool callsOpaque;
        try
        {
            await using var batch = new NpgsqlCommand(probe, connection);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            plan = reader.GetString(0);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            callsOpaque = reader.GetBoolean(0);
        }
        catch (PostgresException)
        {
            // PREPARE refused it (a parameter whose type it cannot infer, a statement it cannot prepare).
            await CleanUpAsync(connection, cancellationToken).ConfigureAwait(false);
            return Anything;
        }

        // The planner folds an IMMUTABLE call with constant arguments away, running it as it plans,
        // and shows no function's body: the calls are judged from the text and the views' rules.
        return callsOpaque ? Anything : Read(plan);
    }

    /// <summary>The relations the plan scans; anything, if it runs a query it does not show (query_to_xml...) or pruned partitions it does not name.</summary>
    internal static StatementReads Read(string plan)
    {
        using var document = JsonDocument.Parse(plan);
        var tables = new List<(string? Schema, string Name)>();
        return Walk(document.RootElement, tables) ? new StatementReads(tables) : Anything;
    }

    /// <summary>False as soon as the plan runs something it cannot see into.</summary>
    private static bool Walk(JsonElement element, List<(string? Schema, string Name)> tables)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                return element.EnumerateArray().All(item => Walk(item, tables));
            case JsonValueKind.String:
                var expression = element.GetString()!;
                return !CallPattern().Matches(expression).Any(call => QueryRunners.Contains(call.Groups[1].Success ? call.Groups[1].Value : call.Groups[2].Value));
            case JsonValueKind.Object:
                if (element.TryGetProperty("Relation Name", out var relation))
                {
                    tables.Add((element.TryGetProperty("Schema", out var schema) ? schema.GetString() : null, relation.GetString()!));
                }

                if ((element.TryGetProperty("Function Name", out var function) && QueryRunners.Contains(function.GetString()!))
                    || (element.TryGetProperty("Subplans Removed", out var removed) && removed.GetInt32() > 0))
                {
                    return false;
                }

                return element.EnumerateObject().All(property => Walk(property.Value, tables));
            default:
                return true;
        }
    }

    /// <summary>After a failed probe: back out of its savepoint, and drop its prepared statement if PREPARE got that far.</summary>
    private static async ValueTask CleanUpAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await InnerCommands.ExecuteAsync(connection, null, $"ROLLBACK TO SAVEPOINT {Name}; RELEASE SAVEPOINT {Name}", cancellationToken).ConfigureAwait(false);
            if (await InnerCommands.ScalarAsync(connection, null, "SELECT count(*) FROM pg_prepared_statements WHERE name = @name", cancellationToken, ("name", Name)).ConfigureAwait(false) is > 0L)
            {
                await InnerCommands.ExecuteAsync(connection, null, $"DEALLOCATE {Name}", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (PostgresException)
        {
            // The transaction had failed before the probe: the statement itself reports it.
        }
    }

    /// <summary>A name right before '(' in a deparsed expression, quoted or not, schema-qualified or not.</summary>
    [GeneratedRegex("""(?:"([^"]+)"|([\p{L}_][\p{L}\p{N}_$]*))\(""")]
    private static partial Regex CallPattern();
}

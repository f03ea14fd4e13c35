using Khonsu.Data.Backends;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>Reads a PostgreSQL database's user tables, their primary keys and whether they carry the version column.</summary>
internal static class PostgresCatalogReader
{
    private const string Query = """
        SELECT n.nspname, c.relname,
               ARRAY(SELECT a.attname::text
                     FROM pg_index i
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     WHERE i.indrelid = c.oid AND i.indisprimary
                     ORDER BY k.ord) AS keys,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = @version AND NOT a.attisdropped) AS has_version,
               (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname IN ('khonsu_version', 'khonsu_capture')) = 2 AS has_triggers
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'khonsu')
          AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
        ORDER BY n.nspname, c.relname
        """;

    public static async ValueTask<BackendCatalog> ReadAsync(NpgsqlConnection connection, string versionColumn, CancellationToken cancellationToken)
        => new(await InnerCommands.QueryAsync(
            connection,
            null,
            Query,
            reader => new TableInfo(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetBoolean(3)) { HasKhonsuTriggers = reader.GetBoolean(4) },
            cancellationToken,
            ("version", versionColumn)).ConfigureAwait(false));
}

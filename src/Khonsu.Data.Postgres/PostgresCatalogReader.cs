using Khonsu.Data.Backends;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>Reads a PostgreSQL database's user tables (their primary keys, whether the database generates them, whether they carry the version column), and its views and materialized views.</summary>
internal static class PostgresCatalogReader
{
    /// <summary>User schemas: not PostgreSQL's own, nor Khonsu's.</summary>
    private const string UserSchemas = """
        n.nspname NOT IN ('pg_catalog', 'information_schema', 'khonsu')
          AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
        """;

    private const string Query = $$"""
        SELECT n.nspname, c.relname, c.oid,
               ARRAY(SELECT a.attname::text
                     FROM pg_index i
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     WHERE i.indrelid = c.oid AND i.indisprimary
                     ORDER BY k.ord) AS keys,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = @version AND NOT a.attisdropped) AS has_version,
               EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'khonsu_version') AS has_version_trigger,
               ARRAY(SELECT k.attnum::int2
                     FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.ord) AS key_attnums,
               (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = @version AND NOT a.attisdropped) AS version_attnum,
               g.generated,
               (SELECT k.conname::text FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS key_constraint,
               EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'khonsu_append') AS has_append_trigger,
               EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'khonsu_capture') AS has_capture_trigger,
               EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = '{{PostgresRowImages.ImageTrigger}}') AS has_image_trigger
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL (
            -- A key the database generates: one column, identity or with a default drawing from a
            -- sequence or gen_random_uuid() (what the Append policy gives a conflicting insert).
            SELECT coalesce(bool_and(a.attidentity <> '' OR d.expression LIKE 'nextval(%' OR d.expression IN ('gen_random_uuid()', 'uuid_generate_v4()'))
                            AND count(*) = 1, false) AS generated
            FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
            LEFT JOIN LATERAL (SELECT pg_get_expr(ad.adbin, ad.adrelid) AS expression
                               FROM pg_attrdef ad WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum) d ON true
            WHERE i.indrelid = c.oid AND i.indisprimary) g
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND {{UserSchemas}}
        ORDER BY n.nspname, c.relname
        """;

    private const string ViewQuery = $$"""
        SELECT n.nspname, c.relname
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm')
          AND {{UserSchemas}}
        ORDER BY n.nspname, c.relname
        """;

    /// <summary>Whether the installed capture trigger knows Khonsu's connections by their session setting (see <see cref="PostgresSchemaInstaller"/>).</summary>
    private const string CaptureByTransactionIdQuery =
        $"SELECT position('{PostgresSql.CaptureSetting}' IN prosrc) > 0 FROM pg_proc WHERE oid = to_regprocedure('{PostgresSql.Schema}.capture()')";

    /// <summary>
    /// Reads the catalog. A table has Khonsu's triggers when it has the version and capture ones (the capture trigger that
    /// keeps row images where a mirror follows the table, the plain one elsewhere),
    /// and, if it is configured with the Append policy and its key is generated, the append one.
    /// </summary>
    public static async ValueTask<PostgresCatalog> ReadAsync(NpgsqlConnection connection, KhonsuBackendOptions options, CancellationToken cancellationToken)
    {
        var rows = await InnerCommands.QueryAsync(
            connection,
            null,
            Query,
            reader =>
            {
                var (schema, name, generated) = (reader.GetString(0), reader.GetString(1), reader.GetBoolean(8));
                var appends = generated && options.AppendsTo(schema, name);
                var table = new TableInfo(schema, name, reader.GetFieldValue<string[]>(3), reader.GetBoolean(4))
                {
                    // The capture trigger that matches whether a mirror follows the table, and not the other.
                    HasKhonsuTriggers = reader.GetBoolean(5) && reader.GetBoolean(11) != options.Follows(schema, name) && reader.GetBoolean(12) == options.Follows(schema, name)
                                        && (!appends || reader.GetBoolean(10)),
                    KeyIsGenerated = generated,
                    KeyConstraint = reader.IsDBNull(9) ? null : reader.GetString(9),
                };
                var key = reader.IsDBNull(7) ? null : new PostgresTableKey(table, reader.GetFieldValue<short[]>(6), reader.GetInt16(7));
                return (Oid: reader.GetFieldValue<uint>(2), Table: table, Key: key);
            },
            cancellationToken,
            ("version", options.VersionColumn)).ConfigureAwait(false);
        if (rows.Any(r => r.Table.HasKhonsuTriggers)
            && await InnerCommands.ScalarAsync(connection, null, CaptureByTransactionIdQuery, cancellationToken).ConfigureAwait(false) is false)
        {
            // Its trigger waits for a setting this version no longer sends: writes would go uncaptured.
            throw new KhonsuException(
                $"PostgreSQL database '{connection.Database}': Khonsu's schema there was installed by an older version, whose capture trigger would miss this version's writes. Install it again (khonsu schema install, or KhonsuConnection.InstallSchemaAsync()), or open with Schema=Auto.");
        }

        // Views and materialized views route statements here; they are never tables for the read set.
        var views = await InnerCommands.QueryAsync(
            connection, null, ViewQuery, reader => new ViewInfo(reader.GetString(0), reader.GetString(1)), cancellationToken).ConfigureAwait(false);
        return new PostgresCatalog(
            new BackendCatalog(rows.Select(r => r.Table).ToList(), views),
            rows.Where(r => r.Key is not null && r.Key.KeyAttributes.Length > 0).ToDictionary(r => r.Oid, r => r.Key!));
    }
}

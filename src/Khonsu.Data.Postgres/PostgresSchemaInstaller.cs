using System.Text;
using Khonsu.Data.Backends;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Installs Khonsu's schema in a PostgreSQL database, idempotently: the khonsu schema with its
/// capture, applied-marker and log-owner tables and trigger functions, a version column on every user table
/// (an existing one is adopted), a BEFORE UPDATE trigger that bumps it for every writer, and an
/// AFTER trigger that records the rows a Khonsu transaction changes, and on tables configured with
/// the Append policy (whose key the database generates) a BEFORE INSERT trigger that gives a row a
/// new key while <see cref="AppendSetting"/> is on.
/// </summary>
internal static class PostgresSchemaInstaller
{
    /// <summary>The transaction-local setting that turns the append trigger on.</summary>
    public const string AppendSetting = "khonsu.append";

    public static async ValueTask InstallAsync(NpgsqlConnection connection, bool inTransaction, KhonsuBackendOptions options, CancellationToken cancellationToken)
    {
        var versionColumn = options.VersionColumn;
        var sql = new StringBuilder();
        if (!inTransaction)
        {
            sql.Append("BEGIN;\n");
        }

        // Several processes may open at once: one installs, the others wait and find it done.
        sql.Append("SELECT pg_advisory_xact_lock(hashtext('khonsu.install'));\n");
        sql.Append(FixedObjects(versionColumn));
        await InnerCommands.ExecuteAsync(connection, null, sql.ToString(), cancellationToken).ConfigureAwait(false);

        // Only tables that lack something are touched: ALTER TABLE and CREATE TRIGGER lock the table,
        // and at restart a prepared transaction may hold locks that recovery has yet to release.
        var catalog = (await PostgresCatalogReader.ReadAsync(connection, options, cancellationToken).ConfigureAwait(false)).Catalog;
        var tables = new StringBuilder();
        foreach (var table in catalog.Tables.Where(t => !t.HasVersionColumn || !t.HasKhonsuTriggers))
        {
            AppendTableObjects(tables, table, versionColumn, options.AppendsTo(table.Schema, table.Name), options.Follows(table.Schema, table.Name));
        }

        if (!inTransaction)
        {
            tables.Append("COMMIT;");
        }

        if (tables.Length > 0)
        {
            await InnerCommands.ExecuteAsync(connection, null, tables.ToString(), cancellationToken).ConfigureAwait(false);
        }
    }

    private static string FixedObjects(string versionColumn) => $$"""
        CREATE SCHEMA IF NOT EXISTS {{Schema}};
        CREATE UNLOGGED TABLE IF NOT EXISTS {{Schema}}.capture (
            tx_id text NOT NULL, tbl text NOT NULL, key jsonb NOT NULL,
            first_op "char" NOT NULL, last_op "char" NOT NULL, old_version bigint, new_version bigint, image jsonb,
            PRIMARY KEY (tx_id, tbl, key));
        {{PostgresRowImages.AddImageColumn}}
        CREATE TABLE IF NOT EXISTS {{Schema}}.applied (tx_id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
        {{PostgresLogOwnerTable.Create}}
        CREATE OR REPLACE FUNCTION {{Schema}}.{{Quote("bump_" + versionColumn)}}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            -- A writer (or redo) that sets the version itself keeps its value.
            IF NEW.{{Quote(versionColumn)}} IS NOT DISTINCT FROM OLD.{{Quote(versionColumn)}} THEN
                NEW.{{Quote(versionColumn)}} := OLD.{{Quote(versionColumn)}} + 1;
            END IF;
            RETURN NEW;
        END $fn$;
        CREATE OR REPLACE FUNCTION {{Schema}}.capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            tx text := current_setting('khonsu.tx_id', true);
            version_column text := TG_ARGV[0];
            old_row jsonb;
            new_row jsonb;
            key_row jsonb;
            k jsonb := '[]'::jsonb;
            op "char" := left(TG_OP, 1);
            image jsonb;
        BEGIN
            -- A Replace branch (and builds before capture by transaction id) names its writes;
            -- any other Khonsu transaction is known by its PostgreSQL id, which needs no statement
            -- to set. Khonsu's connections start with the capture setting on and READ COMMITTED as
            -- their default level, and its transactions run at REPEATABLE READ or SERIALIZABLE:
            -- other connections' writes, and statements Khonsu runs outside a transaction, are
            -- not captured (no one would take their rows out again).
            IF tx IS NULL OR tx = '' THEN
                IF current_setting('{{CaptureSetting}}', true) IS DISTINCT FROM 'on'
                   OR current_setting('transaction_isolation') = 'read committed' THEN
                    RETURN NULL;
                END IF;
                tx := pg_current_xact_id()::text;
            END IF;
            IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
            IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
            key_row := coalesce(old_row, new_row);
            -- A table a mirror follows has this trigger under its own name: its row goes to the
            -- log (after a delete, the row as it was, whose key the mirror deletes).
            IF TG_NAME = '{{PostgresRowImages.ImageTrigger}}' THEN image := coalesce(new_row, old_row); END IF;
            FOR i IN 1 .. TG_NARGS - 1 LOOP
                k := k || jsonb_build_array(key_row -> TG_ARGV[i]);
            END LOOP;
            INSERT INTO {{Schema}}.capture AS c (tx_id, tbl, key, first_op, last_op, old_version, new_version, image)
            VALUES (tx, TG_TABLE_NAME, k, op, op,
                    CASE WHEN version_column <> '' THEN (old_row ->> version_column)::bigint END,
                    CASE WHEN version_column <> '' THEN (new_row ->> version_column)::bigint END,
                    image)
            ON CONFLICT (tx_id, tbl, key) DO UPDATE SET last_op = EXCLUDED.last_op, new_version = EXCLUDED.new_version, image = EXCLUDED.image;
            RETURN NULL;
        END $fn$;
        CREATE OR REPLACE FUNCTION {{Schema}}.append_key() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            key_column text := TG_ARGV[0];
            seen boolean;
            generator text;
            fresh text;
        BEGIN
            -- Fires only while Khonsu runs again an insert whose key a concurrent transaction took
            -- (the Append policy). A row whose key this transaction can see keeps it, and fails as
            -- the duplicate it is; any other takes a new key from the key column's generator.
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE %I = ($1).%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME, key_column, key_column)
                INTO seen USING NEW;
            IF seen THEN
                RETURN NEW;
            END IF;
            SELECT CASE WHEN a.attidentity <> ''
                        THEN format('nextval(%L::regclass)', pg_get_serial_sequence(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), key_column))
                        ELSE pg_get_expr(d.adbin, d.adrelid) END
              INTO generator
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = TG_RELID AND a.attname = key_column;
            -- Skip keys the snapshot already has: explicit keys leave a sequence behind them.
            LOOP
                EXECUTE 'SELECT (' || generator || ')::text' INTO fresh;
                NEW := jsonb_populate_record(NEW, jsonb_build_object(key_column, fresh));
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE %I = ($1).%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME, key_column, key_column)
                    INTO seen USING NEW;
                EXIT WHEN NOT seen;
            END LOOP;
            RETURN NEW;
        END $fn$;

        """;

    private static void AppendTableObjects(StringBuilder sql, TableInfo table, string versionColumn, bool appends, bool followed)
    {
        var name = Qualified(table.Schema, table.Name);
        var arguments = string.Join(", ", new[] { versionColumn }.Concat(table.KeyColumns).Select(Literal));
        sql.Append($"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {Quote(versionColumn)} bigint NOT NULL DEFAULT 1;\n");
        sql.Append($"CREATE OR REPLACE TRIGGER khonsu_version BEFORE UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION {Schema}.{Quote("bump_" + versionColumn)}();\n");
        // One capture trigger or the other: its name tells the function whether the row's image goes to the log.
        var (capture, other) = followed ? (PostgresRowImages.ImageTrigger, "khonsu_capture") : ("khonsu_capture", PostgresRowImages.ImageTrigger);
        sql.Append($"DROP TRIGGER IF EXISTS {other} ON {name};\n");
        sql.Append($"CREATE OR REPLACE TRIGGER {capture} AFTER INSERT OR UPDATE OR DELETE ON {name} FOR EACH ROW EXECUTE FUNCTION {Schema}.capture({arguments});\n");
        if (appends && table.KeyIsGenerated)
        {
            // Off (one setting read per row) unless the Append policy runs a conflicting insert again.
            sql.Append($"CREATE OR REPLACE TRIGGER khonsu_append BEFORE INSERT ON {name} FOR EACH ROW WHEN (current_setting('{AppendSetting}', true) = 'on') ")
                .Append($"EXECUTE FUNCTION {Schema}.append_key({Literal(table.KeyColumns[0])});\n");
        }
    }
}

using System.CommandLine;
using System.Data.Common;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Data.Backends;

namespace Khonsu.Cli.Commands;

/// <summary>`khonsu schema install|check`: Khonsu's schema on every backend (its own tables, version columns, triggers).</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var install = new Command(
            "install",
            "Install Khonsu's schema on every backend, as Schema=Auto does at first open: Khonsu's own tables (with a Kafka log, also transaction_log's on the TransactionLog backend), a version column on every table that lacks one, " +
            "and the triggers that bump it and capture writes. Idempotent. Then prints what `schema check` prints. Creates a SQLite file that does not exist yet.");
        install.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, (context, token) => RunAsync(context, installFirst: true, token), cancellationToken));

        var check = new Command(
            "check",
            "Report, per backend, Khonsu's own tables if missing (with a Kafka log, also transaction_log's on the TransactionLog backend) and every table without the version column or Khonsu's triggers (and, on PostgreSQL, " +
            "max_prepared_transactions = 0). Changes nothing. Exit code 0 when nothing is missing, 2 when something is, 3 when a backend is unreachable.");
        check.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, (context, token) => RunAsync(context, installFirst: false, token), cancellationToken));

        return new Command("schema", "Install or check Khonsu's schema on the backends.")
        {
            install,
            check,
        };
    }

    private static async Task<int> RunAsync(CommandContext context, bool installFirst, CancellationToken cancellationToken)
    {
        var target = context.Target();
        var reports = new List<BackendReport>();
        foreach (var backend in target.Backends)
        {
            DbConnection connection;
            try
            {
                connection = await target.ConnectAsync(backend, context.ConnectTimeout, mayCreateFile: installFirst, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException error) when (!installFirst)
            {
                reports.Add(new BackendReport(backend, target.Location(backend), error.Message, [], []));
                continue;
            }

            await using (connection.ConfigureAwait(false))
            {
                if (installFirst)
                {
                    try
                    {
                        await backend.InstallSchemaAsync(connection, null, cancellationToken).ConfigureAwait(false);
                        if (HoldsTransactionLog(target, backend) is { } tables)
                        {
                            await tables.CreateAsync(connection, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    catch (Exception error) when (error is DbException or InvalidOperationException)
                    {
                        throw new CliException(ExitCodes.Failed, target.Scrub($"schema install on backend '{backend.Name}' failed: {KhonsuTarget.OneLine(error)}"), error);
                    }
                }

                reports.Add(await CheckAsync(target, backend, connection, cancellationToken).ConfigureAwait(false));
            }
        }

        await WriteAsync(context, reports, installFirst).ConfigureAwait(false);
        return reports.Any(r => r.Unreachable is not null) ? ExitCodes.Unreachable
            : reports.Any(r => r.Missing.Count > 0) ? ExitCodes.Attention
            : ExitCodes.Ok;
    }

    private static async Task<BackendReport> CheckAsync(KhonsuTarget target, KhonsuBackend backend, DbConnection connection, CancellationToken cancellationToken)
    {
        var missing = new List<(string? Table, string What)>();
        foreach (var (objectName, exists) in await KhonsuObjectsAsync(target, backend, connection, cancellationToken).ConfigureAwait(false))
        {
            if (!exists)
            {
                missing.Add((null, $"Khonsu's table {objectName}"));
            }
        }

        if (backend.Kind == "Postgres"
            && Convert.ToInt64(await BackendProbe.ScalarAsync(connection, "SELECT current_setting('max_prepared_transactions')::int", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            missing.Add((null, "max_prepared_transactions > 0 (server setting; two-phase commit needs it)"));
        }

        var catalog = await backend.LoadCatalogAsync(connection, null, cancellationToken).ConfigureAwait(false);
        foreach (var table in catalog.Tables)
        {
            var name = table.Schema is null ? table.Name : $"{table.Schema}.{table.Name}";
            if (!table.HasVersionColumn)
            {
                missing.Add((name, $"version column '{backend.Options.VersionColumn}'"));
            }

            if (!table.HasKhonsuTriggers)
            {
                missing.Add((name, "Khonsu's triggers"));
            }
        }

        return new BackendReport(backend, target.Location(backend), null, catalog.Tables, missing);
    }

    /// <summary>
    /// Khonsu's own tables on a backend (what SqliteSchemaInstaller and PostgresSchemaInstaller
    /// create), and on the backend a Kafka log's TransactionLog key names, the materialised transaction_log's.
    /// </summary>
    private static async Task<IReadOnlyList<(string Name, bool Exists)>> KhonsuObjectsAsync(KhonsuTarget target, KhonsuBackend backend, DbConnection connection, CancellationToken cancellationToken)
    {
        var objects = new List<(string Name, bool Exists)>();
        switch (backend.Kind)
        {
            case "Sqlite":
                var applied = await BackendProbe.ScalarAsync(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'khonsu_applied'", cancellationToken).ConfigureAwait(false);
                objects.Add(("khonsu_applied", Convert.ToInt64(applied, System.Globalization.CultureInfo.InvariantCulture) == 1));
                break;
            case "Postgres":
                var appliedPg = await BackendProbe.ScalarAsync(connection, "SELECT to_regclass('khonsu.applied') IS NOT NULL", cancellationToken).ConfigureAwait(false);
                var capture = await BackendProbe.ScalarAsync(connection, "SELECT to_regclass('khonsu.capture') IS NOT NULL", cancellationToken).ConfigureAwait(false);
                objects.Add(("khonsu.applied", appliedPg is true));
                objects.Add(("khonsu.capture", capture is true));
                break;
        }

        // Where the backend records the commit log it belongs to (without it, it is not fenced).
        if (backend.LogOwnerTable is { } owner)
        {
            objects.Add((owner.Table, await owner.ExistsAsync(connection, cancellationToken).ConfigureAwait(false)));
        }

        if (HoldsTransactionLog(target, backend) is { } tables)
        {
            foreach (var table in new[] { tables.Table, tables.ProgressTable })
            {
                objects.Add(($"{table} (TransactionLog={backend.Name})", await ExistsAsync(connection, table, cancellationToken).ConfigureAwait(false)));
            }
        }

        return objects;
    }

    /// <summary>The tables of a Kafka log's transaction_log, when this backend is the one TransactionLog names.</summary>
    private static TransactionLogTables? HoldsTransactionLog(KhonsuTarget target, KhonsuBackend backend)
        => target.IsKafkaLog && ReferenceEquals(target.TransactionLogHolder, backend) ? backend.TransactionLogTables : null;

    /// <summary>Whether a table the backend's own SQL names exists: an empty query on it either runs or fails.</summary>
    private static async Task<bool> ExistsAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        try
        {
            await BackendProbe.ScalarAsync(connection, $"SELECT 1 FROM {table} WHERE 1 = 0", cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException)
        {
            return false;
        }
    }

    private static async Task WriteAsync(CommandContext context, IReadOnlyList<BackendReport> reports, bool installed)
    {
        if (context.Json)
        {
            var json = new JsonObject
            {
                ["installed"] = installed,
                ["ok"] = reports.All(r => r.Unreachable is null && r.Missing.Count == 0),
                ["backends"] = new JsonArray(reports.Select(r => (JsonNode)new JsonObject
                {
                    ["name"] = r.Backend.Name,
                    ["kind"] = r.Backend.Kind,
                    ["location"] = r.Location,
                    ["reachable"] = r.Unreachable is null,
                    ["error"] = r.Unreachable,
                    ["tables"] = r.Tables.Count,
                    ["missing"] = new JsonArray(r.Missing.Select(m => (JsonNode)new JsonObject { ["table"] = m.Table, ["what"] = m.What }).ToArray()),
                }).ToArray()),
            };
            await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
            return;
        }

        var output = context.Output;
        foreach (var report in reports)
        {
            var head = $"{report.Backend.Name} ({report.Backend.Kind}, {report.Location})";
            if (report.Unreachable is not null)
            {
                await output.WriteLineAsync($"{head}: UNREACHABLE: {report.Unreachable}").ConfigureAwait(false);
                continue;
            }

            await output.WriteLineAsync(report.Missing.Count == 0
                ? $"{head}: ok, {Text.Plural(report.Tables.Count, "table")} tracked"
                : $"{head}: MISSING {Text.Invariant(report.Missing.Count)}").ConfigureAwait(false);
            foreach (var (table, what) in report.Missing)
            {
                await output.WriteLineAsync(table is null ? $"  missing: {what}" : $"  table {table}: missing {what}").ConfigureAwait(false);
            }
        }

        var total = reports.Sum(r => r.Missing.Count);
        if (total > 0)
        {
            await output.WriteLineAsync($"{Text.Invariant(total)} missing in all. Run `khonsu schema install`, or open a Khonsu connection with Schema=Auto (the default).").ConfigureAwait(false);
        }
    }

    private sealed record BackendReport(KhonsuBackend Backend, string Location, string? Unreachable, IReadOnlyList<TableInfo> Tables, IReadOnlyList<(string? Table, string What)> Missing);
}

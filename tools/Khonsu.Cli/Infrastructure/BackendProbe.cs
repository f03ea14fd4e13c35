using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Backends;
using Khonsu.Data.Runtime;
using Khonsu.Engine.Recovery;

namespace Khonsu.Cli.Infrastructure;

/// <summary>Whether a backend answers, and what the tool learnt from it (including the commit log it records as its own, if any).</summary>
internal sealed record BackendProbe(KhonsuBackend Backend, string Location, bool Reachable, string? ServerVersion, string? Problem, string? Warning, LogOwner? Owner = null)
{
    public static async Task<IReadOnlyList<BackendProbe>> ProbeAllAsync(KhonsuTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = new List<BackendProbe>();
        foreach (var backend in target.Backends)
        {
            probes.Add(await ProbeAsync(target, backend, timeout, cancellationToken).ConfigureAwait(false));
        }

        return probes;
    }

    /// <summary>Recovery's view of every backend that answered (the others cannot be asked what they hold prepared).</summary>
    public static IReadOnlyList<IRecoverableResource> RecoveryResourcesOfReachable(IEnumerable<BackendProbe> probes)
        => probes.Where(p => p.Reachable).Select(p => p.Backend.CreateRecoveryResource()).ToList();

    private static async Task<BackendProbe> ProbeAsync(KhonsuTarget target, KhonsuBackend backend, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var location = target.Location(backend);
        DbConnection connection;
        try
        {
            connection = await target.ConnectAsync(backend, timeout, mayCreateFile: false, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException error)
        {
            return new BackendProbe(backend, location, false, null, error.Message, null);
        }

        await using (connection.ConfigureAwait(false))
        {
            string? warning = null;
            if (backend.Kind == "Postgres")
            {
                var prepared = Convert.ToInt64(await ScalarAsync(connection, "SELECT current_setting('max_prepared_transactions')::int", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (prepared == 0)
                {
                    warning = "max_prepared_transactions is 0: two-phase commit cannot prepare here; raise it and restart the server";
                }
            }

            var owner = await LogFence.ReadAsync(backend, connection, cancellationToken).ConfigureAwait(false);
            return new BackendProbe(backend, location, true, connection.ServerVersion, null, warning, owner);
        }
    }

    public static async Task<object?> ScalarAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = sql;
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

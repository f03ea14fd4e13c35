using System.Data.Common;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>Where a scenario step runs. Khonsu routes by table; the plain baseline needs telling.</summary>
public enum Db
{
    Sqlite,
    Postgres,
}

/// <summary>
/// One transaction of an anomaly scenario, run either through Khonsu or through plain two-phase
/// commit, so that the same interleaving shows the anomaly under one and not the other.
/// </summary>
public abstract class Session : IAsyncDisposable
{
    protected Session(string name) => Name = name;

    public string Name { get; }

    /// <summary>Set when a step or the commit failed transiently: the transaction did not commit.</summary>
    public DbException? Failure { get; private set; }

    public bool Committed { get; private set; }

    public async Task<long> ReadAsync(Db db, string sql, params (string Name, object Value)[] parameters)
    {
        long value = -1;
        await StepAsync(async () =>
        {
            if (parameters.Length == 0)
            {
                value = Convert.ToInt64(await ScalarAsync(db, sql) ?? 0L);
                return;
            }

            await using var command = CreateCommand(db, sql, parameters);
            value = Convert.ToInt64(await command.ExecuteScalarAsync() ?? 0L);
        });
        return value;
    }

    public Task WriteAsync(Db db, string sql) => StepAsync(() => ExecuteAsync(db, sql));

    /// <summary>Reads every row of the result, as an application listing them would; returns how many.</summary>
    public async Task<int> CountRowsAsync(Db db, string sql, params (string Name, object Value)[] parameters)
    {
        var rows = -1;
        await StepAsync(async () =>
        {
            await using var command = CreateCommand(db, sql, parameters);
            await using var reader = await command.ExecuteReaderAsync();
            for (rows = 0; await reader.ReadAsync(); rows++)
            {
            }
        });
        return rows;
    }

    public Task CommitAsync() => StepAsync(async () =>
    {
        await CommitCoreAsync();
        Committed = true;
    });

    public abstract ValueTask DisposeAsync();

    protected abstract Task<object?> ScalarAsync(Db db, string sql);

    /// <summary>A command that runs in the session's transaction on <paramref name="db"/>.</summary>
    protected abstract DbCommand CreateCommand(Db db, string sql);

    private DbCommand CreateCommand(Db db, string sql, (string Name, object Value)[] parameters)
    {
        var command = CreateCommand(db, sql);
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    protected abstract Task ExecuteAsync(Db db, string sql);

    protected abstract Task CommitCoreAsync();

    /// <summary>Once a transaction failed its later steps are skipped, as an application would.</summary>
    private async Task StepAsync(Func<Task> step)
    {
        if (Failure is not null)
        {
            return;
        }

        try
        {
            await step();
        }
        catch (DbException error) when (error.IsTransient)
        {
            Failure = error;
            await RollbackAsync();
        }
    }

    protected abstract Task RollbackAsync();
}

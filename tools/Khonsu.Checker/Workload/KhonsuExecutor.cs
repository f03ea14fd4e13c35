using System.Data;
using Khonsu.Checker.History;
using Khonsu.Data;

namespace Khonsu.Checker.Workload;

/// <summary>Runs the workload's transactions through one <see cref="KhonsuConnection"/> (reopened after a broken one).</summary>
internal sealed class KhonsuExecutor(string connectionString, IsolationLevel isolation) : ITransactionExecutor
{
    private KhonsuConnection? _connection;

    public async Task<ExecutedTransaction> RunAsync(string transactionId, IReadOnlyList<MicroOp> planned)
    {
        var done = new List<MicroOp>(planned.Count);
        KhonsuTransaction? transaction = null;
        try
        {
            try
            {
                if (_connection is null)
                {
                    var connection = new KhonsuConnection(connectionString);
                    await connection.OpenAsync();
                    _connection = connection;
                }

                transaction = await _connection.BeginTransactionAsync(isolation);
                foreach (var op in planned)
                {
                    if (op.Kind == OpKind.Read)
                    {
                        var (value, version) = await RegisterSql.ReadAsync(_connection, transaction, op.Key);
                        done.Add(MicroOp.Read(op.Key, value, version));
                    }
                    else
                    {
                        var version = await RegisterSql.WriteAsync(_connection, transaction, op.Key, op.Value!.Value);
                        done.Add(MicroOp.Write(op.Key, op.Value!.Value, version));
                    }
                }

                await RegisterSql.AuditAsync(_connection, transaction, transactionId, done);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Commit was never called: nothing of this transaction can be committed (presumed abort).
                await ResetAsync();
                return new ExecutedTransaction(Outcome.Fail, WithPlannedWrites(done, planned), Reason(e));
            }

            try
            {
                await transaction.CommitAsync();
                return new ExecutedTransaction(Outcome.Ok, done);
            }
            catch (KhonsuException e) when (e.SqlState == "40001")
            {
                return new ExecutedTransaction(Outcome.Fail, done, Reason(e));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                await ResetAsync();
                return new ExecutedTransaction(Outcome.Unknown, done, Reason(e));
            }
        }
        finally
        {
            if (transaction is not null)
            {
                try
                {
                    await transaction.DisposeAsync();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    await ResetAsync();
                }
            }
        }
    }

    /// <summary>A failed transaction's record keeps its planned writes, so a read of one is caught as G1a.</summary>
    internal static List<MicroOp> WithPlannedWrites(List<MicroOp> done, IReadOnlyList<MicroOp> planned)
    {
        var result = new List<MicroOp>(done);
        result.AddRange(planned.Skip(done.Count).Where(o => o.Kind == OpKind.Write));
        return result;
    }

    internal static string Reason(Exception e)
    {
        var text = e is System.Data.Common.DbException { SqlState: { } state } ? $"{e.GetType().Name} {state}" : e.GetType().Name;
        return text;
    }

    private async Task ResetAsync()
    {
        var connection = _connection;
        _connection = null;
        if (connection is not null)
        {
            try
            {
                await connection.DisposeAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Broken already.
            }
        }
    }

    public async ValueTask DisposeAsync() => await ResetAsync();
}

using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Khonsu.Engine.Prefetch;

namespace Khonsu.Data.Prefetch;

/// <summary>
/// One transaction's prefetching. After each statement of the application it learns (the model),
/// asks which reads follow, and sends them: on each backend in one round trip (a batch), in
/// parallel across backends, in the transaction's own local transactions (begun on first use, as
/// a statement would). Their results are held until the application runs the same statement with
/// the same parameters, which is then served without a round trip, or dropped: at a statement
/// that may write on that backend, at a savepoint operation, and when the transaction ends. A
/// held result enters the read set only when the application reads it (the tracker travels with
/// it). The application's statements on a backend wait for prefetches in flight there first: one
/// connection runs one statement at a time.
/// </summary>
internal sealed class TransactionPrefetch(KhonsuTransaction transaction, KhonsuConnection connection, RuntimePrefetch runtime)
{
    /// <summary>A prefetched result with more rows than this is not held (it is read and dropped).</summary>
    private const int MaxHeldRows = 1000;

    private const string Savepoint = "khonsu_prefetch";

    private readonly List<StatementObservation> _history = [];
    private readonly Dictionary<PrefetchKey, (Task<HeldResult?[]> Batch, int Index)> _held = [];
    private readonly Dictionary<KhonsuBackend, Task<HeldResult?[]>> _inFlight = [];
    private int _issued;
    private bool _ranOffFlow;

    /// <summary>Statements prefetched in this transaction so far (bounded by the budget).</summary>
    public int Issued => _issued;

    /// <summary>The application's reads in this transaction served from a prefetch.</summary>
    public int Served { get; private set; }

    /// <summary>
    /// Before a statement of the application on <paramref name="backend"/>: prefetches in flight
    /// there finish first; a statement that may write there drops what is held there (it could
    /// change those results).
    /// </summary>
    public async ValueTask BeforeStatementAsync(KhonsuBackend backend, bool mayWrite, bool async)
    {
        await WaitForAsync(backend, async).ConfigureAwait(false);
        if (mayWrite)
        {
            Drop(key => string.Equals(key.Backend, backend.Name, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>The held result of exactly this statement, taken (served once), or null: the application runs it.</summary>
    public HeldResult? TryTake(KhonsuBackend backend, string sql, KhonsuParameterCollection parameters)
    {
        HeldResult? served = null;
        if (KeyOf(backend.Name, sql, parameters) is { } key && _held.Remove(key, out var held))
        {
            // BeforeStatementAsync waited for this backend's prefetches: the batch has finished.
            served = held.Batch.IsCompletedSuccessfully ? held.Batch.Result[held.Index] : null;
            runtime.Model.Judged(key.Template, consumed: served is not null);
        }

        Served += served is null ? 0 : 1;

        runtime.Model.ApplicationRead(served is not null);
        return served;
    }

    /// <summary>
    /// The application's statement completed: the model learns from it, and the reads it predicts
    /// are sent (only for an asynchronous caller: a synchronous one keeps no work running behind it).
    /// </summary>
    public async ValueTask StatementCompletedAsync(RouteDecision route, string sql, KhonsuParameterCollection parameters, IReadOnlyList<object?[]> rows, bool async, CancellationToken cancellationToken)
    {
        var shapes = parameters.Cast<KhonsuParameter>().Select(ParameterShape.Of).ToList();
        var plainRead = !route.Writes && !route.ChangesSchema && !route.ControlsTransaction && !route.ReadsUnknownRelations
            && shapes.All(s => s is not null) && PrefetchableText.IsPlainRead(sql);
        runtime.Remember(sql, new TemplateShape(shapes.Select(s => s ?? new ParameterShape("", null, 0, 0, 0, null)).ToList(), plainRead));

        var observation = new StatementObservation(sql, parameters.Cast<KhonsuParameter>().Select(p => p.Value).ToList(), rows);
        runtime.Model.Learn(_history, observation);
        _history.Add(observation);
        if (_history.Count > runtime.Model.Options.HistoryLength)
        {
            _history.RemoveAt(0);
        }

        if (async && !transaction.IsCompleted && _issued < runtime.Settings.Budget)
        {
            await IssueAsync(runtime.Model.Predict(observation), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every prefetch in flight finishes; with <paramref name="dropAll"/> (a savepoint operation,
    /// the transaction's end) nothing stays held. Then the transaction's snapshots are known to be
    /// taken by now, on every backend a prefetch began.
    /// </summary>
    public async ValueTask DrainAsync(bool dropAll, bool async)
    {
        foreach (var backend in _inFlight.Keys.ToList())
        {
            await WaitForAsync(backend, async).ConfigureAwait(false);
        }

        if (dropAll)
        {
            Drop(_ => true);
        }
    }

    private async ValueTask WaitForAsync(KhonsuBackend backend, bool async)
    {
        if (_inFlight.Remove(backend, out var running))
        {
            // A prefetch never throws (see RunAsync): a failed one holds nothing.
            if (async)
            {
                await running.ConfigureAwait(false);
            }
            else
            {
                running.GetAwaiter().GetResult();
            }
        }

        if (_inFlight.Count == 0 && _ranOffFlow)
        {
            // A prefetch may have been the first statement on its backend, after the application's
            // statements elsewhere marked the snapshots taken: they are all taken by now.
            _ranOffFlow = false;
            transaction.Snapshots.StatementRanOffFlow();
        }
    }

    private void Drop(Func<PrefetchKey, bool> which)
    {
        foreach (var key in _held.Keys.Where(which).ToList())
        {
            _held.Remove(key);
            runtime.Model.Judged(key.Template, consumed: false);
        }
    }

    private PrefetchKey? KeyOf(string backend, string sql, KhonsuParameterCollection parameters)
    {
        var values = new List<(ParameterShape, object)>(parameters.Count);
        foreach (KhonsuParameter parameter in parameters)
        {
            if (ParameterShape.Of(parameter) is not { } shape || parameter.Value is null)
            {
                return null;
            }

            values.Add((shape, parameter.Value));
        }

        return new PrefetchKey(backend, sql, values);
    }

    private async ValueTask IssueAsync(IReadOnlyList<PredictedStatement> predictions, CancellationToken cancellationToken)
    {
        var byBackend = new Dictionary<KhonsuBackend, List<(PrefetchKey Key, TemplateShape Shape)>>();
        foreach (var prediction in predictions)
        {
            if (_issued >= runtime.Settings.Budget)
            {
                break;
            }

            if (Prepare(prediction) is not { } prepared || _held.ContainsKey(prepared.Key.Key))
            {
                continue;
            }

            _issued++;
            if (!byBackend.TryGetValue(prepared.Backend, out var group))
            {
                byBackend[prepared.Backend] = group = [];
            }

            group.Add(prepared.Key);
        }

        foreach (var (backend, group) in byBackend)
        {
            try
            {
                await StartAsync(backend, group, cancellationToken).ConfigureAwait(false);
            }
            catch (DbException)
            {
                // The backend could not be reached or begun: the application's own statement there will say why.
            }
        }
    }

    /// <summary>The prediction as a statement to send, or null: its template is not a known plain read, or a value does not convert to its parameter's type.</summary>
    private (KhonsuBackend Backend, (PrefetchKey Key, TemplateShape Shape) Key)? Prepare(PredictedStatement prediction)
    {
        if (runtime.ShapeOf(prediction.Template) is not { Prefetchable: true } shape || shape.Parameters.Count != prediction.Parameters.Count)
        {
            return null;
        }

        var values = new List<(ParameterShape, object)>(shape.Parameters.Count);
        for (var i = 0; i < shape.Parameters.Count; i++)
        {
            if (prediction.Parameters[i] is not { } value || shape.Parameters[i].Convert(value) is not { } converted)
            {
                return null;
            }

            values.Add((shape.Parameters[i], converted));
        }

        RouteDecision route;
        try
        {
            route = connection.Runtime.Router.Route(prediction.Template);
        }
        catch (KhonsuException)
        {
            return null; // The catalog changed under the template: the application will find out.
        }

        return route.Writes || route.ChangesSchema || route.ControlsTransaction
            ? null
            : (route.Backend, (new PrefetchKey(route.Backend.Name, prediction.Template, values), shape));
    }

    /// <summary>
    /// On the application's flow: the backend's local transaction is begun (on first use) and its
    /// snapshot started, as a statement's would be. Then the batch runs behind the application,
    /// after any prefetch still in flight there.
    /// </summary>
    private async ValueTask StartAsync(KhonsuBackend backend, List<(PrefetchKey Key, TemplateShape Shape)> group, CancellationToken cancellationToken)
    {
        var inner = await connection.GetInnerConnectionAsync(backend, async: true, cancellationToken).ConfigureAwait(false);
        var local = await transaction.Enlistment.EnlistAsync(backend, inner, cancellationToken).ConfigureAwait(false);
        var statements = group.Select(g => new PrefetchStatement(g.Key.Template, g.Key, g.Shape)).ToList();
        using (var probe = inner.CreateCommand())
        {
            probe.CommandText = statements[0].Sql;
            probe.Transaction = local.InnerTransaction;
            await local.BeforeStatementAsync(probe, spansSeveralBackends: false, async: true, cancellationToken).ConfigureAwait(false);
        }

        var previous = _inFlight.GetValueOrDefault(backend);
        var batch = RunAsync(previous, backend, local, inner, statements);
        _inFlight[backend] = batch;
        _ranOffFlow = true;
        for (var i = 0; i < group.Count; i++)
        {
            _held[group[i].Key] = (batch, i);
        }
    }

    /// <summary>Runs the statements; never throws: a failure holds nothing, and on a backend where an error aborts the transaction, the batch's savepoint is rolled back.</summary>
    private static async Task<HeldResult?[]> RunAsync(Task? previous, KhonsuBackend backend, BackendTransaction local, DbConnection inner, List<PrefetchStatement> statements)
    {
        if (previous is not null)
        {
            await previous.ConfigureAwait(false);
        }

        var results = new HeldResult?[statements.Count];
        var guarded = backend.StatementErrorAbortsTransaction;
        try
        {
            if (inner.CanCreateBatch)
            {
                await RunBatchAsync(local, inner, statements, guarded, results).ConfigureAwait(false);
            }
            else
            {
                for (var i = 0; i < statements.Count; i++)
                {
                    using var command = statements[i].ToCommand(inner, local);
                    await using var reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
                    results[i] = await HeldResult.ReadAsync(reader, local, statements[i].Sql, MaxHeldRows, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (Exception error) when (error is DbException or InvalidOperationException or InvalidCastException or NotSupportedException)
        {
            Array.Clear(results);
            if (guarded)
            {
                try
                {
                    await InnerCommands.ExecuteAsync(inner, local.InnerTransaction, $"ROLLBACK TO SAVEPOINT {Savepoint}; RELEASE SAVEPOINT {Savepoint}", CancellationToken.None).ConfigureAwait(false);
                }
                catch (DbException)
                {
                    // The transaction is broken there: the application's next statement reports it.
                }
            }
        }

        return results;
    }

    /// <summary>One round trip: every statement in one batch, inside a savepoint where an error would abort the transaction.</summary>
    private static async Task RunBatchAsync(BackendTransaction local, DbConnection inner, List<PrefetchStatement> statements, bool guarded, HeldResult?[] results)
    {
        using var batch = inner.CreateBatch();
        batch.Transaction = local.InnerTransaction;
        if (guarded)
        {
            batch.BatchCommands.Add(Plain(batch, $"SAVEPOINT {Savepoint}"));
        }

        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement.ToBatchCommand(batch, inner));
        }

        if (guarded)
        {
            batch.BatchCommands.Add(Plain(batch, $"RELEASE SAVEPOINT {Savepoint}"));
        }

        await using var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        var next = 0;
        do
        {
            // Statements that return no rows (the savepoint's) have no columns.
            if (reader.FieldCount > 0 && next < statements.Count)
            {
                results[next] = await HeldResult.ReadAsync(reader, local, statements[next].Sql, MaxHeldRows, CancellationToken.None).ConfigureAwait(false);
                next++;
            }
        }
        while (await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false));
    }

    private static DbBatchCommand Plain(DbBatch batch, string sql)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        return command;
    }
}

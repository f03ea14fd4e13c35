using System.Data.Common;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Prefetch;

/// <summary>One predicted read to send: its text, and its parameters as the application passed them.</summary>
internal sealed record PrefetchStatement(string Sql, PrefetchKey Key, TemplateShape Shape)
{
    public DbCommand ToCommand(DbConnection inner, BackendTransaction local)
    {
        var command = inner.CreateCommand();
        command.CommandText = Sql;
        command.Transaction = local.InnerTransaction;
        foreach (var (shape, value) in Key.Parameters)
        {
            command.Parameters.Add(shape.ToInner(command.CreateParameter(), value));
        }

        return command;
    }

    public DbBatchCommand ToBatchCommand(DbBatch batch, DbConnection inner)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = Sql;
        using var factory = inner.CreateCommand();
        foreach (var (shape, value) in Key.Parameters)
        {
            command.Parameters.Add(shape.ToInner(factory.CreateParameter(), value));
        }

        return command;
    }
}

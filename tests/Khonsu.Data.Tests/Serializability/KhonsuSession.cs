using System.Data;
using System.Data.Common;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>A scenario transaction through a Khonsu connection.</summary>
public sealed class KhonsuSession : Session
{
    private readonly KhonsuConnection _connection;
    private readonly KhonsuTransaction _transaction;

    private KhonsuSession(string name, KhonsuConnection connection, KhonsuTransaction transaction)
        : base(name)
    {
        _connection = connection;
        _transaction = transaction;
    }

    public string TransactionId => _transaction.TransactionId;

    /// <param name="extra">Appended to the connection string (";Route.v=shop", say).</param>
    public static async Task<KhonsuSession> BeginAsync(TwoDatabases db, string name, IsolationLevel isolation, string extra = "")
    {
        var connection = await db.OpenAsync(extra);
        return new KhonsuSession(name, connection, await connection.BeginTransactionAsync(isolation));
    }

    public override async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }

    protected override Task<object?> ScalarAsync(Db db, string sql) => AtomicCommitTests.Scalar(_connection, sql);

    protected override DbCommand CreateCommand(Db db, string sql) => new KhonsuCommand(sql, _connection);

    protected override Task ExecuteAsync(Db db, string sql) => AtomicCommitTests.Execute(_connection, sql);

    protected override Task CommitCoreAsync() => _transaction.CommitAsync();

    protected override async Task RollbackAsync()
    {
        if (_connection.CurrentTransaction == _transaction)
        {
            await _transaction.RollbackAsync();
        }
    }
}

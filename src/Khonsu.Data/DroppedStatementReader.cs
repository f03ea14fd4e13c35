using System.Collections;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// The reader of a statement the Ignore policy dropped: no result set, no row, nothing changed,
/// as for a statement that matched no row. Closing it ends the statement.
/// </summary>
internal sealed class DroppedStatementReader(Func<bool, ValueTask> end, KhonsuConnection? closeOnEnd) : DbDataReader
{
    private bool _closed;

    public override int Depth => 0;

    public override int FieldCount => 0;

    public override bool HasRows => false;

    public override bool IsClosed => _closed;

    public override int RecordsAffected => 0;

    public override object this[int ordinal] => throw NoRow();

    public override object this[string name] => throw NoRow();

    public override bool Read() => false;

    public override Task<bool> ReadAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    public override bool NextResult() => false;

    public override Task<bool> NextResultAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    public override bool GetBoolean(int ordinal) => throw NoRow();

    public override byte GetByte(int ordinal) => throw NoRow();

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => throw NoRow();

    public override char GetChar(int ordinal) => throw NoRow();

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => throw NoRow();

    public override string GetDataTypeName(int ordinal) => throw NoRow();

    public override DateTime GetDateTime(int ordinal) => throw NoRow();

    public override decimal GetDecimal(int ordinal) => throw NoRow();

    public override double GetDouble(int ordinal) => throw NoRow();

    public override Type GetFieldType(int ordinal) => throw NoRow();

    public override float GetFloat(int ordinal) => throw NoRow();

    public override Guid GetGuid(int ordinal) => throw NoRow();

    public override short GetInt16(int ordinal) => throw NoRow();

    public override int GetInt32(int ordinal) => throw NoRow();

    public override long GetInt64(int ordinal) => throw NoRow();

    public override string GetName(int ordinal) => throw NoRow();

    public override int GetOrdinal(string name) => throw NoRow();

    public override string GetString(int ordinal) => throw NoRow();

    public override object GetValue(int ordinal) => throw NoRow();

    public override int GetValues(object[] values) => throw NoRow();

    public override bool IsDBNull(int ordinal) => throw NoRow();

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    public override void Close() => Close(async: false).GetAwaiter().GetResult();

    public override Task CloseAsync() => Close(async: true);

    /// <summary>The one code path of <see cref="Close()"/> and <see cref="CloseAsync"/> (see <see cref="Execution.SyncOrAsync"/>).</summary>
    private async Task Close(bool async)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        await end(async).ConfigureAwait(false);
        if (closeOnEnd is not null && async)
        {
            await closeOnEnd.CloseAsync().ConfigureAwait(false);
        }
        else
        {
            closeOnEnd?.Close();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
        }

        base.Dispose(disposing);
    }

    private static InvalidOperationException NoRow()
        => new("The statement was dropped by its table's Ignore conflict policy: it has no result set and no row.");
}

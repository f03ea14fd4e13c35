using System.Collections;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// The results of a batch's statements one after another: each statement runs when the reader
/// moves on to it, so its results are read before the next statement starts. Its synchronous
/// methods run the statements synchronously (see <see cref="Execution.SyncOrAsync"/>).
/// </summary>
/// <param name="run">Runs the statement of that index, synchronously when its flag is false.</param>
internal sealed class KhonsuBatchDataReader(
    Func<int, bool, CancellationToken, Task<DbDataReader>> run,
    IReadOnlyList<KhonsuBatchCommand> commands,
    KhonsuConnection? closeOnEnd) : DbDataReader
{
    private DbDataReader? _current;
    private int _index;
    private int _recordsAffected = -1;
    private bool _closed;

    private DbDataReader Current => _current ?? throw new InvalidOperationException("The batch reader is closed.");

    public override int Depth => Current.Depth;

    public override int FieldCount => Current.FieldCount;

    public override bool HasRows => Current.HasRows;

    public override bool IsClosed => _closed;

    /// <summary>Rows changed by the statements run so far, as DbDataReader reports them for a batch.</summary>
    public override int RecordsAffected => _recordsAffected;

    public override object this[int ordinal] => Current[ordinal];

    public override object this[string name] => Current[name];

    public async Task StartAsync(bool async, CancellationToken cancellationToken) => _current = await run(0, async, cancellationToken).ConfigureAwait(false);

    public override bool Read() => _current?.Read() ?? false;

    public override Task<bool> ReadAsync(CancellationToken cancellationToken) => _current?.ReadAsync(cancellationToken) ?? Task.FromResult(false);

    public override bool NextResult() => NextResult(async: false, CancellationToken.None).GetAwaiter().GetResult();

    public override Task<bool> NextResultAsync(CancellationToken cancellationToken) => NextResult(async: true, cancellationToken);

    public override void Close() => Close(async: false).GetAwaiter().GetResult();

    /// <summary>Closing runs what is left of the batch, as a batch runs every statement whatever is read.</summary>
    public override Task CloseAsync() => Close(async: true);

    public override bool GetBoolean(int ordinal) => Current.GetBoolean(ordinal);

    public override byte GetByte(int ordinal) => Current.GetByte(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => Current.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    public override char GetChar(int ordinal) => Current.GetChar(ordinal);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => Current.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    public override string GetDataTypeName(int ordinal) => Current.GetDataTypeName(ordinal);

    public override DateTime GetDateTime(int ordinal) => Current.GetDateTime(ordinal);

    public override decimal GetDecimal(int ordinal) => Current.GetDecimal(ordinal);

    public override double GetDouble(int ordinal) => Current.GetDouble(ordinal);

    public override Type GetFieldType(int ordinal) => Current.GetFieldType(ordinal);

    public override float GetFloat(int ordinal) => Current.GetFloat(ordinal);

    public override Guid GetGuid(int ordinal) => Current.GetGuid(ordinal);

    public override short GetInt16(int ordinal) => Current.GetInt16(ordinal);

    public override int GetInt32(int ordinal) => Current.GetInt32(ordinal);

    public override long GetInt64(int ordinal) => Current.GetInt64(ordinal);

    public override string GetName(int ordinal) => Current.GetName(ordinal);

    public override int GetOrdinal(string name) => Current.GetOrdinal(name);

    public override string GetString(int ordinal) => Current.GetString(ordinal);

    public override object GetValue(int ordinal) => Current.GetValue(ordinal);

    public override int GetValues(object[] values) => Current.GetValues(values);

    public override bool IsDBNull(int ordinal) => Current.IsDBNull(ordinal);

    public override T GetFieldValue<T>(int ordinal) => Current.GetFieldValue<T>(ordinal);

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    private async Task<bool> NextResult(bool async, CancellationToken cancellationToken)
    {
        if (_current is null)
        {
            return false;
        }

        if (async ? await Current.NextResultAsync(cancellationToken).ConfigureAwait(false) : Current.NextResult())
        {
            return true;
        }

        await FinishCurrentAsync(async).ConfigureAwait(false);
        if (_index + 1 >= commands.Count)
        {
            return false;
        }

        _current = await run(++_index, async, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task Close(bool async)
    {
        if (_closed)
        {
            return;
        }

        try
        {
            while (_current is not null && await NextResult(async, CancellationToken.None).ConfigureAwait(false))
            {
            }
        }
        finally
        {
            _closed = true;
            await FinishCurrentAsync(async).ConfigureAwait(false);
            if (closeOnEnd is not null && async)
            {
                await closeOnEnd.CloseAsync().ConfigureAwait(false);
            }
            else
            {
                closeOnEnd?.Close();
            }
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

    private async ValueTask FinishCurrentAsync(bool async)
    {
        if (_current is null)
        {
            return;
        }

        var current = _current;
        _current = null;
        if (async)
        {
            await current.CloseAsync().ConfigureAwait(false);
        }
        else
        {
            current.Close();
        }

        var affected = current.RecordsAffected;
        commands[_index].RecordsAffectedValue = affected;
        if (affected >= 0)
        {
            _recordsAffected = Math.Max(_recordsAffected, 0) + affected;
        }

        await Execution.SyncOrAsync.DisposeAsync(current, async).ConfigureAwait(false);
    }
}

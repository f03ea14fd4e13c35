using System.Collections;
using System.Collections.ObjectModel;
using System.Data;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// The inner provider's reader, passed through member by member (field types exactly as the inner
/// provider reports them, which Dapper relies on). Closing it ends the statement and, with
/// CommandBehavior.CloseConnection, closes the Khonsu connection.
/// </summary>
public sealed class KhonsuDataReader : DbDataReader, IDbColumnSchemaGenerator
{
    private readonly DbDataReader _inner;
    private readonly Execution.StatementExecution _statement;
    private readonly KhonsuConnection? _closeOnEnd;
    private readonly Func<bool, ValueTask> _end;
    private readonly Execution.ReaderReads? _reads;
    private readonly KhonsuParameterCollection? _parameters;
    private bool? _readAhead;
    private int? _recordsAffectedAtClose;
    private bool _closed;

    /// <param name="readAhead">What the inner reader's first Read returned, when Khonsu read it ahead (see <see cref="KhonsuCommand"/>); the caller's first Read returns it.</param>
    /// <param name="parameters">The command's parameters, which the prefetch model learns from when the reader closes.</param>
    internal KhonsuDataReader(DbDataReader inner, Execution.StatementExecution statement, KhonsuConnection? closeOnEnd, Func<bool, ValueTask> end, bool? readAhead = null, KhonsuParameterCollection? parameters = null)
    {
        _parameters = parameters;
        _inner = inner;
        _readAhead = readAhead;
        _statement = statement;
        _closeOnEnd = closeOnEnd;
        _end = end;
        _reads = statement.NewReaderReads();
        statement.Connection.ReaderOpened(this);
    }

    /// <inheritdoc/>
    public override int Depth => _inner.Depth;

    /// <inheritdoc/>
    public override int FieldCount => _inner.FieldCount;

    /// <inheritdoc/>
    public override bool HasRows => _inner.HasRows;

    /// <inheritdoc/>
    public override bool IsClosed => _closed;

    /// <summary>As ADO.NET allows, still known once the reader is closed (the inner reader is disposed then).</summary>
    public override int RecordsAffected => _recordsAffectedAtClose ?? _inner.RecordsAffected;

    /// <inheritdoc/>
    public override int VisibleFieldCount => _inner.VisibleFieldCount;

    /// <inheritdoc/>
    public override object this[int ordinal] => _inner[ordinal];

    /// <inheritdoc/>
    public override object this[string name] => _inner[name];

    /// <inheritdoc/>
    public override bool Read() => Track(TakeReadAhead() ?? _inner.Read());

    /// <inheritdoc/>
    public override async Task<bool> ReadAsync(CancellationToken cancellationToken)
        => Track(TakeReadAhead() ?? await _inner.ReadAsync(cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public override bool NextResult()
    {
        _readAhead = null;
        return NewResultSet(_inner.NextResult());
    }

    /// <inheritdoc/>
    public override async Task<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        _readAhead = null;
        return NewResultSet(await _inner.NextResultAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc/>
    public override bool GetBoolean(int ordinal) => _inner.GetBoolean(ordinal);

    /// <inheritdoc/>
    public override byte GetByte(int ordinal) => _inner.GetByte(ordinal);

    /// <inheritdoc/>
    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length)
        => _inner.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    /// <inheritdoc/>
    public override char GetChar(int ordinal) => _inner.GetChar(ordinal);

    /// <inheritdoc/>
    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length)
        => _inner.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    /// <inheritdoc/>
    public override string GetDataTypeName(int ordinal) => _inner.GetDataTypeName(ordinal);

    /// <inheritdoc/>
    public override DateTime GetDateTime(int ordinal) => _inner.GetDateTime(ordinal);

    /// <inheritdoc/>
    public override decimal GetDecimal(int ordinal) => _inner.GetDecimal(ordinal);

    /// <inheritdoc/>
    public override double GetDouble(int ordinal) => _inner.GetDouble(ordinal);

    /// <inheritdoc/>
    public override Type GetFieldType(int ordinal) => _inner.GetFieldType(ordinal);

    /// <inheritdoc/>
    public override float GetFloat(int ordinal) => _inner.GetFloat(ordinal);

    /// <inheritdoc/>
    public override Guid GetGuid(int ordinal) => _inner.GetGuid(ordinal);

    /// <inheritdoc/>
    public override short GetInt16(int ordinal) => _inner.GetInt16(ordinal);

    /// <inheritdoc/>
    public override int GetInt32(int ordinal) => _inner.GetInt32(ordinal);

    /// <inheritdoc/>
    public override long GetInt64(int ordinal) => _inner.GetInt64(ordinal);

    /// <inheritdoc/>
    public override string GetName(int ordinal) => _inner.GetName(ordinal);

    /// <inheritdoc/>
    public override int GetOrdinal(string name) => _inner.GetOrdinal(name);

    /// <inheritdoc/>
    public override string GetString(int ordinal) => _inner.GetString(ordinal);

    /// <inheritdoc/>
    public override object GetValue(int ordinal) => _inner.GetValue(ordinal);

    /// <inheritdoc/>
    public override int GetValues(object[] values) => _inner.GetValues(values);

    /// <inheritdoc/>
    public override bool IsDBNull(int ordinal) => _inner.IsDBNull(ordinal);

    /// <inheritdoc/>
    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => _inner.IsDBNullAsync(ordinal, cancellationToken);

    /// <inheritdoc/>
    public override T GetFieldValue<T>(int ordinal) => _inner.GetFieldValue<T>(ordinal);

    /// <inheritdoc/>
    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) => _inner.GetFieldValueAsync<T>(ordinal, cancellationToken);

    /// <inheritdoc/>
    public override Type GetProviderSpecificFieldType(int ordinal) => _inner.GetProviderSpecificFieldType(ordinal);

    /// <inheritdoc/>
    public override object GetProviderSpecificValue(int ordinal) => _inner.GetProviderSpecificValue(ordinal);

    /// <inheritdoc/>
    public override int GetProviderSpecificValues(object[] values) => _inner.GetProviderSpecificValues(values);

    /// <inheritdoc/>
    public override Stream GetStream(int ordinal) => _inner.GetStream(ordinal);

    /// <inheritdoc/>
    public override TextReader GetTextReader(int ordinal) => _inner.GetTextReader(ordinal);

    /// <inheritdoc/>
    public override DataTable? GetSchemaTable() => _inner.GetSchemaTable();

    /// <inheritdoc/>
    public override Task<DataTable?> GetSchemaTableAsync(CancellationToken cancellationToken = default) => _inner.GetSchemaTableAsync(cancellationToken);

    /// <summary>The inner provider's column schema of the current result, as it reports it.</summary>
    public ReadOnlyCollection<DbColumn> GetColumnSchema() => _inner.GetColumnSchema();

    private bool? TakeReadAhead()
    {
        var readAhead = _readAhead;
        _readAhead = null;
        return readAhead;
    }

    /// <summary>Every row the application reads inside a transaction is recorded for validation at commit.</summary>
    private bool Track(bool hasRow)
    {
        _reads?.OnRead(_inner, hasRow);
        if (hasRow)
        {
            _statement.Capture?.OnRow(_inner);
        }

        return hasRow;
    }

    private bool NewResultSet(bool hasResult)
    {
        _reads?.NextResultSet();
        _statement.Capture?.EndResultSet();
        return hasResult;
    }

    /// <inheritdoc/>
    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    /// <inheritdoc/>
    public override void Close() => Close(async: false).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override Task CloseAsync() => Close(async: true);

    /// <summary>The one code path of <see cref="Close()"/> and <see cref="CloseAsync"/> (see <see cref="Execution.SyncOrAsync"/>).</summary>
    private async Task Close(bool async)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            _reads?.EndResultSet();
            if (async)
            {
                await _inner.CloseAsync().ConfigureAwait(false);
            }
            else
            {
                _inner.Close();
            }

            _recordsAffectedAtClose = _inner.RecordsAffected;
            await _statement.CompleteAsync(_recordsAffectedAtClose, CancellationToken.None).ConfigureAwait(false);
            if (_parameters is not null)
            {
                await _statement.ObservedAsync(_parameters, async, CancellationToken.None).ConfigureAwait(false);
            }

            // Run outside a transaction: the statement has ended, so its own transaction commits
            // now, and a conflict surfaces here, as a statement's error at close does.
            await _statement.CommitImplicitAsync(async, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await Execution.SyncOrAsync.DisposeAsync(_inner, async).ConfigureAwait(false);
            try
            {
                await _end(async).ConfigureAwait(false);
            }
            finally
            {
                _statement.Connection.ReaderClosed(this);
                if (_closeOnEnd is not null && async)
                {
                    await _closeOnEnd.CloseAsync().ConfigureAwait(false);
                }
                else
                {
                    _closeOnEnd?.Close();
                }
            }
        }
    }

    /// <summary>
    /// Its connection is closing under it (as Npgsql's does, closing a connection closes its
    /// reader): the inner reader goes without completing the statement, so a transaction of the
    /// statement's own is rolled back with the connection's, never committed.
    /// </summary>
    internal async ValueTask AbandonAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await _end(true).ConfigureAwait(false);
            _statement.Connection.ReaderClosed(this);
        }
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
        }

        base.Dispose(disposing);
    }
}

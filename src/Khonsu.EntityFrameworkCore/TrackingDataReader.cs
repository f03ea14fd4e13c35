using System.Collections;
using System.Collections.ObjectModel;
using System.Data;
using System.Data.Common;
using Khonsu.Data.Execution;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// A query's reader, passed through member by member, that records what the transaction reads as
/// KhonsuDataReader does for Khonsu's own commands (<see cref="ReaderReads"/>): each row to the
/// backend's read tracker where the result carries the key and version, and the tables whose rows
/// do not cover the read (not a point lookup, or not carried row by row) as read whole.
/// </summary>
internal sealed class TrackingDataReader(DbDataReader inner, ReaderReads reads) : DbDataReader, IDbColumnSchemaGenerator
{
    private readonly ReaderReads _reads = reads;

    public override int Depth => inner.Depth;

    public override int FieldCount => inner.FieldCount;

    public override bool HasRows => inner.HasRows;

    public override bool IsClosed => inner.IsClosed;

    public override int RecordsAffected => inner.RecordsAffected;

    public override int VisibleFieldCount => inner.VisibleFieldCount;

    public override object this[int ordinal] => inner[ordinal];

    public override object this[string name] => inner[name];

    public override bool Read() => Track(inner.Read());

    public override async Task<bool> ReadAsync(CancellationToken cancellationToken) => Track(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

    public override bool NextResult() => NewResultSet(inner.NextResult());

    public override async Task<bool> NextResultAsync(CancellationToken cancellationToken) => NewResultSet(await inner.NextResultAsync(cancellationToken).ConfigureAwait(false));

    public override bool GetBoolean(int ordinal) => inner.GetBoolean(ordinal);

    public override byte GetByte(int ordinal) => inner.GetByte(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => inner.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    public override char GetChar(int ordinal) => inner.GetChar(ordinal);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => inner.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    public override string GetDataTypeName(int ordinal) => inner.GetDataTypeName(ordinal);

    public override DateTime GetDateTime(int ordinal) => inner.GetDateTime(ordinal);

    public override decimal GetDecimal(int ordinal) => inner.GetDecimal(ordinal);

    public override double GetDouble(int ordinal) => inner.GetDouble(ordinal);

    public override Type GetFieldType(int ordinal) => inner.GetFieldType(ordinal);

    public override float GetFloat(int ordinal) => inner.GetFloat(ordinal);

    public override Guid GetGuid(int ordinal) => inner.GetGuid(ordinal);

    public override short GetInt16(int ordinal) => inner.GetInt16(ordinal);

    public override int GetInt32(int ordinal) => inner.GetInt32(ordinal);

    public override long GetInt64(int ordinal) => inner.GetInt64(ordinal);

    public override string GetName(int ordinal) => inner.GetName(ordinal);

    public override int GetOrdinal(string name) => inner.GetOrdinal(name);

    public override string GetString(int ordinal) => inner.GetString(ordinal);

    public override object GetValue(int ordinal) => inner.GetValue(ordinal);

    public override int GetValues(object[] values) => inner.GetValues(values);

    public override bool IsDBNull(int ordinal) => inner.IsDBNull(ordinal);

    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => inner.IsDBNullAsync(ordinal, cancellationToken);

    public override T GetFieldValue<T>(int ordinal) => inner.GetFieldValue<T>(ordinal);

    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) => inner.GetFieldValueAsync<T>(ordinal, cancellationToken);

    public override Type GetProviderSpecificFieldType(int ordinal) => inner.GetProviderSpecificFieldType(ordinal);

    public override object GetProviderSpecificValue(int ordinal) => inner.GetProviderSpecificValue(ordinal);

    public override int GetProviderSpecificValues(object[] values) => inner.GetProviderSpecificValues(values);

    public override Stream GetStream(int ordinal) => inner.GetStream(ordinal);

    public override TextReader GetTextReader(int ordinal) => inner.GetTextReader(ordinal);

    public override DataTable? GetSchemaTable() => inner.GetSchemaTable();

    public override Task<DataTable?> GetSchemaTableAsync(CancellationToken cancellationToken = default) => inner.GetSchemaTableAsync(cancellationToken);

    public ReadOnlyCollection<DbColumn> GetColumnSchema() => inner.GetColumnSchema();

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    public override void Close()
    {
        _reads.EndResultSet();
        inner.Close();
    }

    public override Task CloseAsync()
    {
        _reads.EndResultSet();
        return inner.CloseAsync();
    }

    public override ValueTask DisposeAsync()
    {
        _reads.EndResultSet();
        return inner.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reads.EndResultSet();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool Track(bool hasRow)
    {
        _reads.OnRead(inner, hasRow);
        return hasRow;
    }

    private bool NewResultSet(bool hasResult)
    {
        _reads.NextResultSet();
        return hasResult;
    }
}

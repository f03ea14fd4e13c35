using System.Collections;
using System.Data.Common;
using System.Globalization;

namespace Khonsu.Data.Prefetch;

/// <summary>A reader over a <see cref="HeldResult"/>: one result set, the rows and column types the database returned.</summary>
internal sealed class HeldResultReader(HeldResult held) : DbDataReader
{
    private int _row = -1;
    private bool _closed;

    public override int Depth => 0;

    public override int FieldCount => held.Columns.Count;

    public override bool HasRows => held.Rows.Count > 0;

    public override bool IsClosed => _closed;

    public override int RecordsAffected => -1;

    public override object this[int ordinal] => GetValue(ordinal);

    public override object this[string name] => GetValue(GetOrdinal(name));

    public override bool Read()
    {
        if (_row < held.Rows.Count)
        {
            _row++;
        }

        return _row < held.Rows.Count;
    }

    public override bool NextResult()
    {
        _row = held.Rows.Count;
        return false;
    }

    public override void Close() => _closed = true;

    public override string GetName(int ordinal) => held.Columns[ordinal].Name;

    public override int GetOrdinal(string name)
    {
        for (var i = 0; i < held.Columns.Count; i++)
        {
            if (string.Equals(held.Columns[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        for (var i = 0; i < held.Columns.Count; i++)
        {
            if (string.Equals(held.Columns[i].Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        throw new IndexOutOfRangeException($"The result has no column '{name}'.");
    }

    public override Type GetFieldType(int ordinal) => held.Columns[ordinal].FieldType;

    public override string GetDataTypeName(int ordinal) => held.Columns[ordinal].DataTypeName;

    public override object GetValue(int ordinal)
        => _row >= 0 && _row < held.Rows.Count ? held.Rows[_row][ordinal] : throw new InvalidOperationException("No row is current: call Read first.");

    public override int GetValues(object[] values)
    {
        var count = Math.Min(values.Length, FieldCount);
        for (var i = 0; i < count; i++)
        {
            values[i] = GetValue(i);
        }

        return count;
    }

    public override bool IsDBNull(int ordinal) => GetValue(ordinal) is DBNull;

    public override T GetFieldValue<T>(int ordinal)
    {
        var value = GetValue(ordinal);
        if (value is T typed)
        {
            return typed;
        }

        if (value is DBNull && default(T) is null)
        {
            return default!;
        }

        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)System.Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
    }

    public override bool GetBoolean(int ordinal) => GetFieldValue<bool>(ordinal);

    public override byte GetByte(int ordinal) => GetFieldValue<byte>(ordinal);

    public override char GetChar(int ordinal) => GetFieldValue<char>(ordinal);

    public override DateTime GetDateTime(int ordinal) => GetFieldValue<DateTime>(ordinal);

    public override decimal GetDecimal(int ordinal) => GetFieldValue<decimal>(ordinal);

    public override double GetDouble(int ordinal) => GetFieldValue<double>(ordinal);

    public override float GetFloat(int ordinal) => GetFieldValue<float>(ordinal);

    public override Guid GetGuid(int ordinal) => GetFieldValue<Guid>(ordinal);

    public override short GetInt16(int ordinal) => GetFieldValue<short>(ordinal);

    public override int GetInt32(int ordinal) => GetFieldValue<int>(ordinal);

    public override long GetInt64(int ordinal) => GetFieldValue<long>(ordinal);

    public override string GetString(int ordinal) => GetFieldValue<string>(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length)
        => CopyOut(GetFieldValue<byte[]>(ordinal), dataOffset, buffer, bufferOffset, length);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length)
        => CopyOut(GetString(ordinal).ToCharArray(), dataOffset, buffer, bufferOffset, length);

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    private static long CopyOut<T>(T[] source, long offset, T[]? buffer, int bufferOffset, int length)
    {
        if (buffer is null)
        {
            return source.Length;
        }

        var count = (int)Math.Max(0, Math.Min(length, source.Length - offset));
        Array.Copy(source, offset, buffer, bufferOffset, count);
        return count;
    }
}

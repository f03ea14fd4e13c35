using System.Collections;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>The parameters of a <see cref="KhonsuCommand"/>.</summary>
public sealed class KhonsuParameterCollection : DbParameterCollection
{
    private readonly List<DbParameter> _items = [];

    /// <inheritdoc/>
    public override int Count => _items.Count;

    /// <inheritdoc/>
    public override object SyncRoot => ((ICollection)_items).SyncRoot;

    /// <summary>Adds a parameter named <paramref name="parameterName"/> with <paramref name="value"/>, and returns it.</summary>
    public KhonsuParameter AddWithValue(string parameterName, object? value)
    {
        var parameter = new KhonsuParameter(parameterName, value);
        _items.Add(parameter);
        return parameter;
    }

    /// <inheritdoc/>
    public override int Add(object value)
    {
        _items.Add(Cast(value));
        return _items.Count - 1;
    }

    /// <inheritdoc/>
    public override void AddRange(Array values)
    {
        foreach (var value in values)
        {
            Add(value!);
        }
    }

    /// <inheritdoc/>
    public override void Clear() => _items.Clear();

    /// <inheritdoc/>
    public override bool Contains(object value) => value is DbParameter parameter && _items.Contains(parameter);

    /// <inheritdoc/>
    public override bool Contains(string value) => IndexOf(value) >= 0;

    /// <inheritdoc/>
    public override void CopyTo(Array array, int index) => ((ICollection)_items).CopyTo(array, index);

    /// <inheritdoc/>
    public override IEnumerator GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc/>
    public override int IndexOf(object value) => value is DbParameter parameter ? _items.IndexOf(parameter) : -1;

    /// <inheritdoc/>
    public override int IndexOf(string parameterName)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            if (NamesMatch(_items[i].ParameterName, parameterName))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    public override void Insert(int index, object value) => _items.Insert(index, Cast(value));

    /// <inheritdoc/>
    public override void Remove(object value) => _items.Remove(Cast(value));

    /// <inheritdoc/>
    public override void RemoveAt(int index) => _items.RemoveAt(index);

    /// <inheritdoc/>
    public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOfExisting(parameterName));

    /// <inheritdoc/>
    protected override DbParameter GetParameter(int index) => _items[index];

    /// <inheritdoc/>
    protected override DbParameter GetParameter(string parameterName) => _items[IndexOfExisting(parameterName)];

    /// <inheritdoc/>
    protected override void SetParameter(int index, DbParameter value) => _items[index] = value;

    /// <inheritdoc/>
    protected override void SetParameter(string parameterName, DbParameter value) => _items[IndexOfExisting(parameterName)] = value;

    private int IndexOfExisting(string parameterName)
    {
        var index = IndexOf(parameterName);
        return index >= 0 ? index : throw new ArgumentException($"The command has no parameter named '{parameterName}'.", nameof(parameterName));
    }

    /// <summary>"@id", ":id", "$id" and "id" name the same parameter, as in the inner providers.</summary>
    private static bool NamesMatch(string a, string b) => string.Equals(Bare(a), Bare(b), StringComparison.OrdinalIgnoreCase);

    private static string Bare(string name) => name.Length > 0 && name[0] is '@' or ':' or '$' ? name[1..] : name;

    private static DbParameter Cast(object value) => value as DbParameter
        ?? throw new ArgumentException($"A Khonsu command takes DbParameter objects, not {value?.GetType().Name ?? "null"}.", nameof(value));
}

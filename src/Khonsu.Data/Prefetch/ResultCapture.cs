using System.Data.Common;

namespace Khonsu.Data.Prefetch;

/// <summary>The first rows of a statement's first result set as the application read them, for the model to find parameter values in.</summary>
internal sealed class ResultCapture
{
    /// <summary>Rows kept per statement: the model fans predictions out over no more.</summary>
    public const int MaxRows = 32;

    private readonly List<object?[]> _rows = [];
    private bool _done;

    public IReadOnlyList<object?[]> Rows => _rows;

    public void OnRow(DbDataReader reader)
    {
        if (_done || _rows.Count >= MaxRows)
        {
            return;
        }

        var values = new object?[reader.FieldCount];
        reader.GetValues(values!);
        _rows.Add(values);
    }

    /// <summary>The reader moved past its first result set: later ones are not the statement's row source.</summary>
    public void EndResultSet() => _done = true;
}

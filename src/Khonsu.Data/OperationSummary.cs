using System.Text;

namespace Khonsu.Data;

/// <summary>
/// What a transaction did, for transaction_log.operation: its distinct statement texts (which
/// carry parameter names, never parameter values), per backend, capped in length.
/// </summary>
internal sealed class OperationSummary
{
    private const int MaxLength = 2000;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly StringBuilder _text = new();

    public void Add(string backend, string sql)
    {
        if (_text.Length >= MaxLength || !_seen.Add(backend + "\0" + sql))
        {
            return;
        }

        if (_text.Length > 0)
        {
            _text.Append(" | ");
        }

        _text.Append(backend).Append(": ").Append(sql.Trim());
        if (_text.Length > MaxLength)
        {
            _text.Length = MaxLength;
            _text.Append('…');
        }
    }

    public override string ToString() => _text.ToString();
}

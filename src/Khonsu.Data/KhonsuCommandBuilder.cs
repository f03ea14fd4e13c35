using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Khonsu.Data;

/// <summary>
/// Generates the INSERT, UPDATE and DELETE commands of a <see cref="KhonsuDataAdapter"/> from its
/// select command, as Npgsql's command builder does. Identifiers are quoted with double quotes,
/// which SQLite and PostgreSQL both accept, and parameters are named <c>@p1</c>, <c>@p2</c>...,
/// which both inner providers bind. Parameter types are left for the inner provider to infer from
/// the values.
/// </summary>
public sealed class KhonsuCommandBuilder : DbCommandBuilder
{
    /// <summary>A command builder with no data adapter yet; identifiers are quoted with double quotes.</summary>
    public KhonsuCommandBuilder()
    {
        QuotePrefix = "\"";
        QuoteSuffix = "\"";
    }

    /// <summary>A command builder that generates the commands of <paramref name="adapter"/>.</summary>
    public KhonsuCommandBuilder(KhonsuDataAdapter adapter)
        : this() => DataAdapter = adapter;

    /// <summary>Quotes <paramref name="unquotedIdentifier"/> in double quotes, doubling any double quote inside it (SQLite and PostgreSQL both accept it).</summary>
    public override string QuoteIdentifier(string unquotedIdentifier)
        => QuotePrefix + unquotedIdentifier.Replace(QuoteSuffix, QuoteSuffix + QuoteSuffix, StringComparison.Ordinal) + QuoteSuffix;

    /// <summary>Removes the double quotes <see cref="QuoteIdentifier"/> adds; an identifier not in double quotes is returned as it is.</summary>
    public override string UnquoteIdentifier(string quotedIdentifier)
        => quotedIdentifier.Length >= 2 && quotedIdentifier.StartsWith(QuotePrefix, StringComparison.Ordinal) && quotedIdentifier.EndsWith(QuoteSuffix, StringComparison.Ordinal)
            ? quotedIdentifier[1..^1].Replace(QuoteSuffix + QuoteSuffix, QuoteSuffix, StringComparison.Ordinal)
            : quotedIdentifier;

    /// <inheritdoc/>
    protected override void ApplyParameterInfo(DbParameter parameter, DataRow row, StatementType statementType, bool whereClause)
    {
        // The inner provider infers each parameter's type from its value, as for any Khonsu command.
    }

    /// <inheritdoc/>
    protected override string GetParameterName(int parameterOrdinal) => "@p" + parameterOrdinal.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    protected override string GetParameterName(string parameterName) => "@" + parameterName;

    /// <inheritdoc/>
    protected override string GetParameterPlaceholder(int parameterOrdinal) => GetParameterName(parameterOrdinal);

    /// <inheritdoc/>
    protected override void SetRowUpdatingHandler(DbDataAdapter adapter)
    {
        var khonsu = adapter as KhonsuDataAdapter ?? throw new ArgumentException($"A KhonsuCommandBuilder works with a KhonsuDataAdapter, not {adapter.GetType().Name}.", nameof(adapter));
        if (adapter == DataAdapter)
        {
            khonsu.RowUpdating -= OnRowUpdating; // the builder is leaving this adapter
        }
        else
        {
            khonsu.RowUpdating += OnRowUpdating;
        }
    }

    private void OnRowUpdating(object? sender, RowUpdatingEventArgs e) => RowUpdatingHandler(e);
}

using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Khonsu.Data;

/// <summary>
/// A parameter of a <see cref="KhonsuCommand"/>. The backend is known only when the command runs,
/// so the parameter is copied onto the inner provider's own parameter then; a DbType set here is
/// passed on, otherwise the inner provider infers it from the value as it always does.
/// </summary>
public sealed class KhonsuParameter : DbParameter
{
    private DbType? _dbType;
    private string _parameterName = string.Empty;
    private string _sourceColumn = string.Empty;

    /// <summary>A parameter with no name and no value yet.</summary>
    public KhonsuParameter()
    {
    }

    /// <summary>A parameter named <paramref name="parameterName"/> (with or without its @, : or $ prefix) with <paramref name="value"/>.</summary>
    public KhonsuParameter(string parameterName, object? value)
    {
        _parameterName = parameterName;
        Value = value;
    }

    /// <summary>The type passed on to the inner provider's parameter when set; when not set (or after <see cref="ResetDbType"/>) the inner provider infers the type from the value, and this reads <see cref="DbType.String"/>.</summary>
    public override DbType DbType
    {
        get => _dbType ?? DbType.String;
        set => _dbType = value;
    }

    /// <summary>Whether <see cref="DbType"/> was set, rather than left for the inner provider to infer.</summary>
    internal bool HasDbType => _dbType.HasValue;

    /// <inheritdoc/>
    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    /// <inheritdoc/>
    public override bool IsNullable { get; set; }

    /// <inheritdoc/>
    [AllowNull]
    public override string ParameterName
    {
        get => _parameterName;
        set => _parameterName = value ?? string.Empty;
    }

    /// <inheritdoc/>
    public override int Size { get; set; }

    /// <inheritdoc/>
    [AllowNull]
    public override string SourceColumn
    {
        get => _sourceColumn;
        set => _sourceColumn = value ?? string.Empty;
    }

    /// <inheritdoc/>
    public override bool SourceColumnNullMapping { get; set; }

    /// <inheritdoc/>
    public override object? Value { get; set; }

    /// <summary>Current, as Npgsql's parameters: DbDataAdapter updates send the row's current values.</summary>
    public override DataRowVersion SourceVersion { get; set; } = DataRowVersion.Current;

    /// <summary>Forgets the <see cref="DbType"/> set, so the inner provider infers the type from the value again.</summary>
    public override void ResetDbType() => _dbType = null;
}

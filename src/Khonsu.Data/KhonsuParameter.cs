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

    public KhonsuParameter()
    {
    }

    public KhonsuParameter(string parameterName, object? value)
    {
        _parameterName = parameterName;
        Value = value;
    }

    public override DbType DbType
    {
        get => _dbType ?? DbType.String;
        set => _dbType = value;
    }

    /// <summary>Whether <see cref="DbType"/> was set, rather than left for the inner provider to infer.</summary>
    internal bool HasDbType => _dbType.HasValue;

    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    public override bool IsNullable { get; set; }

    [AllowNull]
    public override string ParameterName
    {
        get => _parameterName;
        set => _parameterName = value ?? string.Empty;
    }

    public override int Size { get; set; }

    [AllowNull]
    public override string SourceColumn
    {
        get => _sourceColumn;
        set => _sourceColumn = value ?? string.Empty;
    }

    public override bool SourceColumnNullMapping { get; set; }

    public override object? Value { get; set; }

    /// <summary>Current, as Npgsql's parameters: DbDataAdapter updates send the row's current values.</summary>
    public override DataRowVersion SourceVersion { get; set; } = DataRowVersion.Current;

    public override void ResetDbType() => _dbType = null;
}

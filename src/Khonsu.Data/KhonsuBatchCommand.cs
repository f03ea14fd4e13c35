using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Khonsu.Data;

/// <summary>One statement of a <see cref="KhonsuBatch"/>.</summary>
public sealed class KhonsuBatchCommand : DbBatchCommand
{
    private string _commandText = string.Empty;

    public KhonsuBatchCommand()
    {
    }

    public KhonsuBatchCommand(string commandText) => _commandText = commandText;

    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set => _commandText = value ?? string.Empty;
    }

    public override CommandType CommandType { get; set; } = CommandType.Text;

    /// <summary>Rows this statement changed, once the batch has run it.</summary>
    public override int RecordsAffected => RecordsAffectedValue;

    public new KhonsuParameterCollection Parameters { get; } = new();

    public override bool CanCreateParameter => true;

    internal int RecordsAffectedValue { get; set; } = -1;

    protected override DbParameterCollection DbParameterCollection => Parameters;

    public override DbParameter CreateParameter() => new KhonsuParameter();
}

using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Khonsu.Data;

/// <summary>One statement of a <see cref="KhonsuBatch"/>.</summary>
public sealed class KhonsuBatchCommand : DbBatchCommand
{
    private string _commandText = string.Empty;

    /// <summary>A statement with no text yet.</summary>
    public KhonsuBatchCommand()
    {
    }

    /// <summary>A statement with the SQL text <paramref name="commandText"/>.</summary>
    public KhonsuBatchCommand(string commandText) => _commandText = commandText;

    /// <inheritdoc/>
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set => _commandText = value ?? string.Empty;
    }

    /// <inheritdoc/>
    public override CommandType CommandType { get; set; } = CommandType.Text;

    /// <summary>Rows this statement changed, once the batch has run it.</summary>
    public override int RecordsAffected => RecordsAffectedValue;

    /// <summary>The statement's parameters; output values land here when the batch runs it.</summary>
    public new KhonsuParameterCollection Parameters { get; } = new();

    /// <inheritdoc/>
    public override bool CanCreateParameter => true;

    internal int RecordsAffectedValue { get; set; } = -1;

    /// <inheritdoc/>
    protected override DbParameterCollection DbParameterCollection => Parameters;

    /// <inheritdoc/>
    public override DbParameter CreateParameter() => new KhonsuParameter();
}

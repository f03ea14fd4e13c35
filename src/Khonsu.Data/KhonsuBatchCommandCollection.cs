using System.Collections;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>The statements of a <see cref="KhonsuBatch"/>, in the order they run.</summary>
public sealed class KhonsuBatchCommandCollection : DbBatchCommandCollection
{
    private readonly List<KhonsuBatchCommand> _commands = [];

    /// <inheritdoc/>
    public override int Count => _commands.Count;

    /// <inheritdoc/>
    public override bool IsReadOnly => false;

    /// <summary>The statement at <paramref name="index"/>.</summary>
    public new KhonsuBatchCommand this[int index]
    {
        get => _commands[index];
        set => _commands[index] = value;
    }

    /// <inheritdoc/>
    public override void Add(DbBatchCommand item) => _commands.Add(Own(item));

    /// <inheritdoc/>
    public override void Clear() => _commands.Clear();

    /// <inheritdoc/>
    public override bool Contains(DbBatchCommand item) => item is KhonsuBatchCommand command && _commands.Contains(command);

    /// <inheritdoc/>
    public override void CopyTo(DbBatchCommand[] array, int arrayIndex)
    {
        for (var i = 0; i < _commands.Count; i++)
        {
            array[arrayIndex + i] = _commands[i];
        }
    }

    /// <inheritdoc/>
    public override IEnumerator<DbBatchCommand> GetEnumerator() => _commands.GetEnumerator();

    /// <inheritdoc/>
    public override int IndexOf(DbBatchCommand item) => item is KhonsuBatchCommand command ? _commands.IndexOf(command) : -1;

    /// <inheritdoc/>
    public override void Insert(int index, DbBatchCommand item) => _commands.Insert(index, Own(item));

    /// <inheritdoc/>
    public override bool Remove(DbBatchCommand item) => item is KhonsuBatchCommand command && _commands.Remove(command);

    /// <inheritdoc/>
    public override void RemoveAt(int index) => _commands.RemoveAt(index);

    /// <inheritdoc/>
    protected override DbBatchCommand GetBatchCommand(int index) => _commands[index];

    /// <inheritdoc/>
    protected override void SetBatchCommand(int index, DbBatchCommand batchCommand) => _commands[index] = Own(batchCommand);

    private static KhonsuBatchCommand Own(DbBatchCommand item) => item as KhonsuBatchCommand
        ?? throw new ArgumentException($"A KhonsuBatch holds KhonsuBatchCommand objects, not {item?.GetType().Name ?? "null"}: create them with KhonsuBatch.CreateBatchCommand().", nameof(item));
}

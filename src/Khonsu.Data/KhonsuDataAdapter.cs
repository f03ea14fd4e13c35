using System.Data;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// A <see cref="DbDataAdapter"/> over Khonsu commands, for code that fills and updates DataSets
/// through the provider factory (<see cref="KhonsuProviderFactory.CreateDataAdapter"/>), as it
/// does with Npgsql's. Its statements run through Khonsu like any other: routed, certified and,
/// inside a transaction, committed with it.
/// </summary>
public sealed class KhonsuDataAdapter : DbDataAdapter
{
    /// <summary>An adapter with no commands yet.</summary>
    public KhonsuDataAdapter()
    {
    }

    /// <summary>An adapter that fills from <paramref name="selectCommand"/>.</summary>
    public KhonsuDataAdapter(KhonsuCommand selectCommand) => SelectCommand = selectCommand;

    /// <summary>An adapter that fills from the query <paramref name="selectCommandText"/> on <paramref name="selectConnection"/>.</summary>
    public KhonsuDataAdapter(string selectCommandText, KhonsuConnection selectConnection)
        : this(new KhonsuCommand(selectCommandText, selectConnection))
    {
    }

    /// <summary>Raised before each row's command runs in <see cref="DbDataAdapter.Update(DataSet)"/>; <see cref="KhonsuCommandBuilder"/> listens to it.</summary>
    public event EventHandler<RowUpdatingEventArgs>? RowUpdating;

    /// <summary>Raised after each row's command ran in <see cref="DbDataAdapter.Update(DataSet)"/>.</summary>
    public event EventHandler<RowUpdatedEventArgs>? RowUpdated;

    /// <inheritdoc/>
    protected override void OnRowUpdating(RowUpdatingEventArgs value) => RowUpdating?.Invoke(this, value);

    /// <inheritdoc/>
    protected override void OnRowUpdated(RowUpdatedEventArgs value) => RowUpdated?.Invoke(this, value);
}

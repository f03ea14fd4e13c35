using Apache.Arrow;
using Apache.Arrow.Ipc;
using Khonsu.Cli.Infrastructure;
using Khonsu.Mirror.Changes;

namespace Khonsu.Cli.Commands;

/// <summary>
/// The Arrow IPC streams `khonsu changes tail --arrow FILE` writes: one per table, since a stream
/// carries one schema (FILE.&lt;backend&gt;.&lt;table&gt;.arrows), each ended properly on dispose.
/// </summary>
internal sealed class ArrowFiles(string prefix) : IAsyncDisposable
{
    private readonly Dictionary<string, (FileStream File, ArrowStreamWriter Writer, Schema Schema)> _streams = new(StringComparer.OrdinalIgnoreCase);

    public async Task WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var path = $"{prefix}.{ChangeGroup.BackendOf(batch)}.{ChangeGroup.TableOf(batch)}.arrows";
        if (!_streams.TryGetValue(path, out var stream))
        {
            var file = File.Create(path);
            stream = (file, new ArrowStreamWriter(file, batch.Schema), batch.Schema);
            _streams[path] = stream;
        }
        else if (!SameColumns(stream.Schema, batch.Schema))
        {
            throw new CliException(
                ExitCodes.Failed,
                $"table {ChangeGroup.BackendOf(batch)}.{ChangeGroup.TableOf(batch)} changed its columns while the stream ran, and an Arrow stream has one schema: run changes tail again with --from {((Int64Array)batch.Column(ChangeColumns.Position)).GetValue(0)} and another FILE.");
        }

        await stream.Writer.WriteRecordBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (file, writer, _) in _streams.Values)
        {
            await writer.WriteEndAsync().ConfigureAwait(false);
            writer.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool SameColumns(Schema a, Schema b)
        => a.FieldsList.Count == b.FieldsList.Count && a.FieldsList.Zip(b.FieldsList).All(p => p.First.Name == p.Second.Name && p.First.DataType.TypeId == p.Second.DataType.TypeId);
}

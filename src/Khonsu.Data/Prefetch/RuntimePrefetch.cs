using System.Collections.Concurrent;
using Khonsu.Data.Configuration;
using Khonsu.Engine.Prefetch;

namespace Khonsu.Data.Prefetch;

/// <summary>
/// A runtime's prefetching: the one model its transactions learn from and predict with, and the
/// shape of each template the application ran (what a prefetch of it repeats). The model is
/// restored from <see cref="PrefetchSettings.StatePath"/> at open and saved there at close.
/// </summary>
internal sealed class RuntimePrefetch
{
    /// <summary>Templates whose shape is remembered, at most (as many as the model's).</summary>
    private const int MaxShapes = 512;

    private readonly ConcurrentDictionary<string, TemplateShape> _shapes = new(StringComparer.Ordinal);

    private RuntimePrefetch(PrefetchSettings settings, FollowUpModel model)
    {
        Settings = settings;
        Model = model;
    }

    public PrefetchSettings Settings { get; }

    public FollowUpModel Model { get; }

    public static FollowUpModelOptions OptionsOf(PrefetchSettings settings) => new() { Confidence = settings.Confidence, MaxTemplates = MaxShapes };

    /// <summary>The runtime's prefetching, its model restored from the state file when there is one (a damaged file starts afresh).</summary>
    public static async Task<RuntimePrefetch> OpenAsync(PrefetchSettings settings, Diagnostics.KhonsuLog logger, CancellationToken cancellationToken)
    {
        var options = OptionsOf(settings);
        if (settings.StatePath is { } path && File.Exists(path))
        {
            try
            {
                var state = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
                return new RuntimePrefetch(settings, FollowUpModel.Restore(state, options));
            }
            catch (Exception error) when (error is InvalidDataException or IOException or ArgumentOutOfRangeException or FormatException)
            {
                logger.PrefetchStateUnreadable(path, error);
            }
        }

        return new RuntimePrefetch(settings, new FollowUpModel(options));
    }

    /// <summary>Writes the model to the state file (through a temporary file, so a crash leaves the old state whole).</summary>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (Settings.StatePath is not { } path)
        {
            return;
        }

        var temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, Model.Save(), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    public TemplateShape? ShapeOf(string template) => _shapes.GetValueOrDefault(template);

    /// <summary>The application ran the template with these parameters: the latest shape is what a prefetch repeats.</summary>
    public void Remember(string template, TemplateShape shape)
    {
        if (_shapes.Count < MaxShapes || _shapes.ContainsKey(template))
        {
            _shapes[template] = shape;
        }
    }
}

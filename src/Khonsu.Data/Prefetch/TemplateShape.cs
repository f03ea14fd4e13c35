namespace Khonsu.Data.Prefetch;

/// <summary>A template (SQL text) the application ran, as a prefetch repeats it: its parameters, and whether it may be prefetched at all.</summary>
/// <param name="Prefetchable">A plain read: it writes nothing and calls no function that might (see <see cref="PrefetchableText"/>).</param>
internal sealed record TemplateShape(IReadOnlyList<ParameterShape> Parameters, bool Prefetchable);

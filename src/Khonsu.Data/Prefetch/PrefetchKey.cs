namespace Khonsu.Data.Prefetch;

/// <summary>
/// What a held result answers: one template on one backend with exactly these parameters (same
/// names, declared types and values of the same type), so serving it is running that statement.
/// </summary>
internal sealed class PrefetchKey : IEquatable<PrefetchKey>
{
    private readonly (ParameterShape Shape, object Value)[] _parameters;
    private readonly int _hash;

    public PrefetchKey(string backend, string template, IEnumerable<(ParameterShape Shape, object Value)> parameters)
    {
        Backend = backend;
        Template = template;
        _parameters = [.. parameters];
        var hash = new HashCode();
        hash.Add(backend, StringComparer.OrdinalIgnoreCase);
        hash.Add(template, StringComparer.Ordinal);
        foreach (var (shape, value) in _parameters)
        {
            hash.Add(shape);
            hash.Add(value);
        }

        _hash = hash.ToHashCode();
    }

    public string Backend { get; }

    public string Template { get; }

    /// <summary>The parameters, in order, with the shape the application gave them.</summary>
    public IReadOnlyList<(ParameterShape Shape, object Value)> Parameters => _parameters;

    public bool Equals(PrefetchKey? other)
        => other is not null
            && string.Equals(Backend, other.Backend, StringComparison.OrdinalIgnoreCase)
            && string.Equals(Template, other.Template, StringComparison.Ordinal)
            && _parameters.Length == other._parameters.Length
            && _parameters.Zip(other._parameters).All(p => p.First.Shape == p.Second.Shape && SameValue(p.First.Value, p.Second.Value));

    public override bool Equals(object? obj) => Equals(obj as PrefetchKey);

    public override int GetHashCode() => _hash;

    /// <summary>Same type and equal; a DateTime's kind too, which its equality ignores and a database may not.</summary>
    private static bool SameValue(object a, object b)
        => a.GetType() == b.GetType() && a.Equals(b) && (a is not DateTime x || x.Kind == ((DateTime)b).Kind);
}

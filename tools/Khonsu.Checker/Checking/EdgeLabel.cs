namespace Khonsu.Checker.Checking;

/// <summary>The kinds of one edge and, for each kind, the first key that gave it.</summary>
internal sealed class EdgeLabel
{
    public EdgeKinds Kinds { get; private set; }

    public string? WwKey { get; private set; }

    public string? WrKey { get; private set; }

    public string? RwKey { get; private set; }

    public void Add(EdgeKinds kind, string key)
    {
        Kinds |= kind;
        switch (kind)
        {
            case EdgeKinds.WW:
                WwKey ??= key;
                break;
            case EdgeKinds.WR:
                WrKey ??= key;
                break;
            case EdgeKinds.RW:
                RwKey ??= key;
                break;
        }
    }

    public string KeyOf(EdgeKinds kind) => kind switch
    {
        EdgeKinds.WW => WwKey!,
        EdgeKinds.WR => WrKey!,
        _ => RwKey!,
    };

    /// <summary>The kind to name this edge by when it may be any of <paramref name="allowed"/>: ww before wr before rw.</summary>
    public EdgeKinds Preferred(EdgeKinds allowed)
    {
        var usable = Kinds & allowed;
        return (usable & EdgeKinds.WW) != 0 ? EdgeKinds.WW : (usable & EdgeKinds.WR) != 0 ? EdgeKinds.WR : usable & EdgeKinds.RW;
    }
}

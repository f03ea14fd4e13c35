namespace Khonsu.Checker.History;

/// <summary>
/// One read or write of a register inside a transaction.
/// A read carries the value and version it observed (null: not known, e.g. the client never saw
/// the result). A write carries the value it wrote (unique per key across the whole history) and,
/// when known, the row version that write installed.
/// </summary>
public sealed record MicroOp(OpKind Kind, string Key, long? Value, long? Version = null)
{
    public static MicroOp Read(string key, long? value, long? version = null) => new(OpKind.Read, key, value, version);

    public static MicroOp Write(string key, long value, long? version = null) => new(OpKind.Write, key, value, version);

    public override string ToString()
        => Kind == OpKind.Read
            ? $"r({Key}={Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}@{Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})"
            : $"w({Key}={Value}@{Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})";
}

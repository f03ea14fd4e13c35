namespace Khonsu.Engine.Prefetch;

/// <summary>
/// How the model compares a parameter with an earlier value: integers of any width are one
/// number (a key read as a 64-bit column is passed back as a 32-bit parameter), anything else by
/// its own equality. NULL never matches: a NULL parameter says nothing about where it came from.
/// </summary>
internal static class ObservedValues
{
    public static bool Match(object? earlier, object? later)
    {
        if (earlier is null or DBNull || later is null or DBNull)
        {
            return false;
        }

        if (AsInteger(earlier) is { } a && AsInteger(later) is { } b)
        {
            return a == b;
        }

        return earlier.Equals(later);
    }

    private static long? AsInteger(object value) => value switch
    {
        int v => v,
        long v => v,
        short v => v,
        byte v => v,
        sbyte v => v,
        ushort v => v,
        uint v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => null,
    };
}

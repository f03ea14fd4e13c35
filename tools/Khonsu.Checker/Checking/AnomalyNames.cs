namespace Khonsu.Checker.Checking;

/// <summary>The names the checker reports, after Adya and Elle.</summary>
public static class AnomalyNames
{
    /// <summary>Write cycle: a cycle of ww edges only.</summary>
    public const string G0 = "G0";

    /// <summary>Aborted read: a committed transaction read a value written by a transaction that did not commit.</summary>
    public const string G1a = "G1a";

    /// <summary>Intermediate read: a committed transaction read a value that its writer later overwrote in the same transaction.</summary>
    public const string G1b = "G1b";

    /// <summary>Cyclic information flow: a cycle of ww and wr edges with at least one wr.</summary>
    public const string G1c = "G1c";

    /// <summary>Read skew: a cycle with exactly one rw edge.</summary>
    public const string GSingle = "G-single";

    /// <summary>A cycle with several rw edges, none adjacent.</summary>
    public const string GNonadjacent = "G-nonadjacent";

    /// <summary>Write skew: a cycle with several rw edges, two of them adjacent.</summary>
    public const string G2Item = "G2-item";

    /// <summary>Two committed transactions read the same version of a key and both wrote it.</summary>
    public const string LostUpdate = "lost-update";

    /// <summary>A transaction did not see its own earlier write, or read one key twice with different results before writing it.</summary>
    public const string Internal = "internal";

    /// <summary>A read of a value no transaction wrote, or with a version that is not the one the value was installed at.</summary>
    public const string GarbageRead = "garbage-read";

    /// <summary>Two committed writes of a key claim the same version, or the final row is not the last committed write.</summary>
    public const string VersionConflict = "version-conflict";

    /// <summary>A transaction reported as failed whose writes are in the database.</summary>
    public const string FailedButCommitted = "failed-but-committed";

    /// <summary>A short description of each name, for reports.</summary>
    public static string Describe(string name) => name switch
    {
        G0 => "write cycle",
        G1a => "aborted read",
        G1b => "intermediate read",
        G1c => "cyclic information flow",
        GSingle => "read skew",
        GNonadjacent => "non-adjacent anti-dependency cycle",
        G2Item => "write skew",
        LostUpdate => "lost update",
        Internal => "internal inconsistency",
        GarbageRead => "read of a value never written",
        VersionConflict => "inconsistent version order",
        FailedButCommitted => "failed transaction is committed",
        _ => name,
    };
}

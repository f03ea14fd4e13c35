namespace Khonsu.Checker.Checking;

/// <summary>Adya's dependency kinds between committed transactions (a bit set: two transactions may depend in several ways).</summary>
[Flags]
public enum EdgeKinds
{
    None = 0,

    /// <summary>Write-write: the target overwrote the source's version (the next version of a key).</summary>
    WW = 1,

    /// <summary>Write-read: the target read the source's version.</summary>
    WR = 2,

    /// <summary>Read-write (anti-dependency): the target overwrote the version the source read.</summary>
    RW = 4,
}

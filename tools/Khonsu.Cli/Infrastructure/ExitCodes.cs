namespace Khonsu.Cli.Infrastructure;

/// <summary>
/// What the khonsu tool's exit code tells a script. Documented in `khonsu --help` and
/// docs/operations.md; keep the three in step.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Done, and nothing needs attention.</summary>
    public const int Ok = 0;

    /// <summary>Bad arguments, or a missing or invalid connection string: nothing was contacted.</summary>
    public const int Usage = 1;

    /// <summary>Done, but something needs attention: transactions in doubt or to roll back, a backend of another log, schema missing, transaction not found.</summary>
    public const int Attention = 2;

    /// <summary>A backend or the commit log could not be reached or opened.</summary>
    public const int Unreachable = 3;

    /// <summary>The operation failed part-way or was refused (an error from a database, log adopt with undecided work, or the benchmark project is absent or failed).</summary>
    public const int Failed = 4;

    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Cancelled = 130;

    public const string Help = """
        Exit codes:
          0    done, nothing needs attention
          1    usage error: bad arguments, missing or invalid connection string (nothing contacted)
          2    done, but something needs attention: transactions in doubt or to roll back
               (status, recover), a backend of another log (status), schema missing
               (schema check), transaction not found (log show)
          3    a backend or the commit log could not be reached or opened (or the
               application holds the embedded log: recover, log adopt)
          4    the operation failed part-way or was refused (see the error line), or the
               benchmark project is absent
          130  interrupted (Ctrl-C)
        """;
}

namespace Khonsu.Checker.Workload;

/// <summary>Who runs the workload's transactions.</summary>
public enum WorkloadMode
{
    /// <summary>Through <c>KhonsuConnection</c>: the system under test.</summary>
    Khonsu,

    /// <summary>
    /// Deliberately broken, for the checker's own tests only: plain two-phase commit written by hand
    /// (SQLite transaction + PostgreSQL REPEATABLE READ with PREPARE TRANSACTION), no certification,
    /// no durable decision. Cross-database write skew must show.
    /// </summary>
    RawTwoPhaseCommit,
}

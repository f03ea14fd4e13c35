using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>How a transaction ended, its ops as they happened, and why it failed if it did.</summary>
internal sealed record ExecutedTransaction(Outcome Outcome, IReadOnlyList<MicroOp> Ops, string? Reason = null);

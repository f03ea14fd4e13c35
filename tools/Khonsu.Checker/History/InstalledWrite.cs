namespace Khonsu.Checker.History;

/// <summary>
/// A write found in a database after the run: the workload records, inside each transaction, one
/// audit row per key it wrote (transaction id, key, value, the version the write installed), so
/// the audit rows present are exactly the committed writes, with their place in the row's version order.
/// </summary>
public sealed record InstalledWrite(string TransactionId, string Key, string Backend, long Value, long Version);

using Khonsu.Engine;

namespace Khonsu.Data.Backends;

/// <summary>One applied-marker row: its key as the backend stores it, and the transaction it belongs to (null if the key is not a Khonsu id).</summary>
public readonly record struct AppliedMarker(string Key, TransactionId? TransactionId);

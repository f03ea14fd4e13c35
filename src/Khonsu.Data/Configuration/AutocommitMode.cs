namespace Khonsu.Data.Configuration;

/// <summary>How a statement that writes rows runs when no transaction is in progress (key <c>Autocommit</c>).</summary>
public enum AutocommitMode
{
    /// <summary>
    /// As a Khonsu transaction of its own on its backend, certified and committed after the
    /// statement, as PostgreSQL runs every statement outside a transaction as one of its own.
    /// </summary>
    Transaction,

    /// <summary>
    /// Straight on its backend, uncertified: one round trip, but the certifier sees it as it sees a
    /// writer outside Khonsu, so it may complete a phantom or write skew that serializable
    /// transactions miss.
    /// </summary>
    Direct,
}

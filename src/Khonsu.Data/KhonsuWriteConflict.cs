namespace Khonsu.Data;

/// <summary>
/// A write-write conflict a statement met, as the handler given to
/// <see cref="KhonsuDataSourceBuilder.OnWriteConflict"/> sees it. Never carries parameter values.
/// </summary>
/// <param name="TransactionId">The transaction whose statement met the conflict (as transaction_log shows it).</param>
/// <param name="Backend">The backend the statement ran on.</param>
/// <param name="Table">The table the statement writes, when it names one known table; else the first it names.</param>
/// <param name="Key">The conflicting row's key, when the database says (PostgreSQL does not: null).</param>
/// <param name="OtherTransactionId">The transaction that won the row, when known (null for a conflict the database found).</param>
/// <param name="Statement">The statement's text, without its parameter values.</param>
/// <param name="ConfiguredPolicy">The policy configured for <paramref name="Table"/> (Fail when none).</param>
public sealed record KhonsuWriteConflict(
    string TransactionId,
    string Backend,
    string? Table,
    string? Key,
    string? OtherTransactionId,
    string Statement,
    KhonsuConflictPolicy ConfiguredPolicy);

namespace Khonsu.Data.Configuration;

/// <summary>
/// Prefetching inside transactions (connection-string keys <c>Prefetch</c>, <c>PrefetchConfidence</c>,
/// <c>PrefetchBudget</c>, <c>PrefetchState</c>; see docs/prefetch.md).
/// </summary>
/// <param name="Confidence">The least share of a template's runs a follow-up read must have followed to be prefetched.</param>
/// <param name="Budget">Prefetched statements per transaction, at most.</param>
/// <param name="StatePath">A file the model is restored from when the runtime opens and saved to when it closes; null: none.</param>
internal sealed record PrefetchSettings(double Confidence = 0.6, int Budget = 64, string? StatePath = null);

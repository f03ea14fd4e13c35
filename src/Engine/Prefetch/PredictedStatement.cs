namespace Khonsu.Engine.Prefetch;

/// <summary>A read the model expects the transaction to run next: its template and its parameter values in order.</summary>
/// <param name="Confidence">How often, of the times its predecessor ran, this template followed it (0..1).</param>
internal sealed record PredictedStatement(string Template, IReadOnlyList<object?> Parameters, double Confidence);

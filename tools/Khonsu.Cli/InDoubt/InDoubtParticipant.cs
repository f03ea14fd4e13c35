namespace Khonsu.Cli.InDoubt;

/// <summary>One participant of an in-doubt transaction: its state as far as the tool can see, and recovery's last note.</summary>
/// <param name="State">"prepared" (the backend holds it in pg_prepared_xacts), "to finish" (the log says what to do), "unreachable".</param>
internal sealed record InDoubtParticipant(string Name, string State, int? Rows, string? Note);

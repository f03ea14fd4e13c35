namespace Khonsu.Cli.Top;

/// <summary>Aborts of one grouped reason (<see cref="AbortReasons"/>) over a window.</summary>
internal sealed record AbortRate(string Reason, int Count, double PerSecond);

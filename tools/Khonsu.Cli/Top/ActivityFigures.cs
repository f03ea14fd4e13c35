namespace Khonsu.Cli.Top;

/// <summary>The log's activity over one window, as <c>khonsu top</c> shows it.</summary>
internal sealed record ActivityFigures(
    TimeSpan Window,
    int Commits,
    int Aborts,
    double CommitsPerSecond,
    double AbortsPerSecond,
    IReadOnlyList<AbortRate> AbortsByReason,
    IReadOnlyList<PhaseLatency> Phases);

using System.Globalization;
using Khonsu.Checker.Checking;

namespace Khonsu.Checker.Workload;

/// <summary>A run's verdict and what happened during it.</summary>
public sealed record RunReport(WorkloadOptions Options, CheckResult Result, NemesisStats Nemesis, IReadOnlyDictionary<string, int> FailureReasons, int UnresolvedPrepared, int UnknownInHistory, int UnknownCommitted)
{
    /// <summary>Exit code of the runner: 0 only with no anomaly, no lost and no partial commit.</summary>
    public int ExitCode => Result.Valid ? 0 : 1;

    /// <summary>The closing line, e.g. <c>checked: 12408 committed, 1310 aborted, 0 anomalies, 0 lost, 0 partial (seed 42, 180 s)</c>.</summary>
    public string ClosingLine
        => string.Create(
            CultureInfo.InvariantCulture,
            $"checked: {Result.Committed} committed, {Result.Aborted} aborted, {Result.Anomalies.Count} anomalies, {Result.Lost.Count} lost, {Result.Partial.Count} partial (seed {Options.Seed}, {Options.Duration.TotalSeconds:0} s)");
}

using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Architecture;

/// <summary>
/// The commit log and certification stay apart: the log is a plain durable log of records, and
/// certification decides from requests, whatever log (if any) they came through. What joins them
/// lives elsewhere: the coordinator's certification strategies (Khonsu.Engine.Coordination) and a
/// shared log's certifier (Khonsu.Engine.SharedLog).
/// </summary>
public sealed class NamespaceDependencyTests
{
    private const string Log = "Khonsu.Engine.Log";
    private const string Certification = "Khonsu.Engine.Certification";

    [Fact]
    public void The_log_uses_nothing_of_certification()
        => Assert.Empty(TypeReferences.Between(typeof(ICommitLog).Assembly, from: Log, to: Certification));

    [Fact]
    public void Certification_uses_nothing_of_the_log()
        => Assert.Empty(TypeReferences.Between(typeof(CommitCertifier).Assembly, from: Certification, to: Log));

    [Fact]
    public void The_scan_finds_a_use_in_a_signature_in_an_async_method_and_in_a_body_alone()
    {
        var uses = TypeReferences.Between(typeof(NamespaceDependencyTests).Assembly, "Khonsu.Engine.Tests.Architecture.Fixture", Log);

        Assert.Contains(uses, use => use.Contains("Signature.Of uses Khonsu.Engine.Log.LogPosition", StringComparison.Ordinal));
        Assert.Contains(uses, use => use.Contains("Body.IsRecord (body) uses Khonsu.Engine.Log.LogRecord", StringComparison.Ordinal));
        Assert.Contains(uses, use => use.Contains("<AppendAsync>", StringComparison.Ordinal) && use.EndsWith("uses Khonsu.Engine.Log.AppendResult", StringComparison.Ordinal));
    }
}

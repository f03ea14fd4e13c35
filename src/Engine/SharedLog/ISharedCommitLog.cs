using Khonsu.Engine.Log;

namespace Khonsu.Engine.SharedLog;

/// <summary>
/// A commit log that several processes share (Kafka). It certifies every commit record in log
/// order as it reads it, so the commit point is the record <em>and</em> its verdict: an append of
/// a refused commit record returns an abort decision with <see cref="AppendResult.Refusal"/> set.
/// Commit records must carry <see cref="LogRecord.Certification"/> with a snapshot taken from
/// <see cref="Certifier"/>. A runtime that opens such a log certifies in log order
/// (<see cref="Coordination.CertificationStrategy.For"/>).
/// </summary>
internal interface ISharedCommitLog : ICommitLog
{
    LogOrderCertifier Certifier { get; }
}

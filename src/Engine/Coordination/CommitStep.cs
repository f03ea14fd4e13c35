namespace Khonsu.Engine.Coordination;

/// <summary>
/// The points of the commit protocol, in order. Crash tests stop a process at each of them.
/// </summary>
internal enum CommitStep
{
    BeforePrepare,
    AfterParticipantPrepared,
    AfterAllPrepared,
    AfterDecisionLogged,
    AfterParticipantFinished,
    BeforeEndRecord,
}

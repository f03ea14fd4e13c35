namespace Khonsu.Engine.Log;

/// <summary>A participant's status as transaction_log shows it.</summary>
internal enum ParticipantStatus
{
    /// <summary>Prepared and the decision is logged; finishing is under way.</summary>
    Prepared,

    /// <summary>The participant committed.</summary>
    Committed,

    /// <summary>The participant rolled back.</summary>
    Aborted,

    /// <summary>Recovery found the participant undecided and could not finish it yet; see abort_reason.</summary>
    InDoubt,
}

using Khonsu.Engine.Certification;

namespace Khonsu.Engine.Coordination;

/// <summary>What certifying a prepared transaction came to (see <see cref="CertificationStrategy.CertifyAsync"/>).</summary>
/// <param name="Refusal">Why it may not commit; null when it may.</param>
/// <param name="HeldByCertifier">
/// This process's certifier counts it as committing until it is told how the commit ended
/// (finished, in doubt, or never committed).
/// </param>
internal readonly record struct CertificationVerdict(CertificationResult? Refusal, bool HeldByCertifier)
{
    /// <summary>May commit; no certifier looked at it (none, no snapshot, or a safe snapshot).</summary>
    public static CertificationVerdict Unchecked => new(null, false);

    /// <summary>May commit; this process's certifier holds it.</summary>
    public static CertificationVerdict Held => new(null, true);

    public static CertificationVerdict Refused(CertificationResult refusal) => new(refusal, false);
}

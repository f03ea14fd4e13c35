namespace Khonsu.TestSupport;

/// <summary>The system clock moved by a fixed amount: a test that needs "a week later" sets it instead of waiting.</summary>
public sealed class ShiftedTime(TimeSpan shift) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
}

namespace Khonsu.Engine.Prefetch;

/// <summary>Bounds and thresholds of a <see cref="FollowUpModel"/>.</summary>
internal sealed record FollowUpModelOptions
{
    /// <summary>Templates remembered; the one seen longest ago goes first.</summary>
    public int MaxTemplates { get; init; } = 512;

    /// <summary>Follow-up templates remembered per template; the rarest goes first.</summary>
    public int MaxFollowers { get; init; } = 8;

    /// <summary>
    /// When a template has been seen this often, its counts are halved: old patterns fade, and a
    /// template's weight never grows past about twice this.
    /// </summary>
    public double ForgetAfter { get; init; } = 256;

    /// <summary>A template seen fewer times than this predicts nothing yet.</summary>
    public double MinSupport { get; init; } = 3;

    /// <summary>The least fraction of a template's runs a follow-up must have followed, and of its parameters' values their source must have given, to be predicted.</summary>
    public double Confidence { get; init; } = 0.6;

    /// <summary>Predictions of one template fanned out over the rows of a result, at most.</summary>
    public int MaxFanOut { get; init; } = 32;

    /// <summary>Prefetches of a template judged before its switch may turn it off.</summary>
    public double SwitchAfter { get; init; } = 16;

    /// <summary>A template whose prefetches are consumed less often than this is switched off (it is switched on again when the counts fade, see <see cref="ForgetAfter"/>).</summary>
    public double SwitchOffBelow { get; init; } = 0.25;

    /// <summary>Previous statements of the transaction a new one is compared with.</summary>
    public int HistoryLength { get; init; } = 4;

    /// <summary>Checks the options, naming the first bad one.</summary>
    public FollowUpModelOptions Validated()
    {
        if (MaxTemplates < 1 || MaxFollowers < 1 || MaxFanOut < 1 || HistoryLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTemplates), "MaxTemplates, MaxFollowers, MaxFanOut and HistoryLength must be at least 1.");
        }

        if (Confidence is <= 0 or > 1 || SwitchOffBelow is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Confidence), "Confidence must be in (0, 1] and SwitchOffBelow in [0, 1].");
        }

        if (ForgetAfter < 2 || MinSupport < 0 || SwitchAfter < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ForgetAfter), "ForgetAfter must be at least 2, MinSupport at least 0 and SwitchAfter at least 1.");
        }

        return this;
    }
}

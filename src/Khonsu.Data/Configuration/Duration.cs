using System.Globalization;

namespace Khonsu.Data.Configuration;

/// <summary>
/// A length of time written as PostgreSQL writes one in its settings (<c>log_rotation_age = 1d</c>):
/// a number with a unit, <c>s</c>, <c>min</c>, <c>h</c> or <c>d</c>, or a bare number of seconds as
/// the other Khonsu keys take; <c>Infinite</c> for no limit.
/// </summary>
internal static class Duration
{
    private static readonly (string Unit, double Seconds)[] Units = [("min", 60), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];

    /// <returns>The duration, or null for <c>Infinite</c>.</returns>
    /// <exception cref="KhonsuException">Not a positive duration; the message names <paramref name="key"/>, never the value.</exception>
    public static TimeSpan? Parse(string key, string value)
    {
        var text = value.Trim();
        if (text.Equals("Infinite", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var factor = 1.0;
        foreach (var (unit, seconds) in Units)
        {
            if (text.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                text = text[..^unit.Length].TrimEnd();
                factor = seconds;
                break;
            }
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0 || double.IsInfinity(number * factor)
            || number * factor > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            throw new KhonsuException(
                $"Key '{key}' must be a length of time greater than 0: a number of seconds, or a number with a unit (s, min, h, d), e.g. 7d or 12h; or Infinite to keep everything.");
        }

        return TimeSpan.FromSeconds(number * factor);
    }
}

using System.Globalization;

namespace Khonsu.Cli.Infrastructure;

/// <summary>Small text helpers for the tool's human-readable output.</summary>
internal static class Text
{
    public static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        return age.TotalSeconds < 60 ? $"{(int)age.TotalSeconds}s"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes}m{age.Seconds:00}s"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours}h{age.Minutes:00}m"
            : $"{(int)age.TotalDays}d{age.Hours:00}h";
    }

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Plural(long count, string noun) => $"{Invariant(count)} {noun}{(count == 1 ? string.Empty : "s")}";
}

using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;

namespace Khonsu.Data.Runtime;

/// <summary>Where the embedded commit log lives: the <c>Log</c> key, else next to the first SQLite database, else the current directory.</summary>
internal static class LogLocation
{
    public const string DefaultFileName = "khonsu-log.db";

    public static string Resolve(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends)
    {
        if (!string.IsNullOrWhiteSpace(settings.LogPath))
        {
            return Path.GetFullPath(settings.LogPath);
        }

        var firstFile = backends.Select(b => b.DatabaseFilePath).FirstOrDefault(p => p is not null);
        var directory = firstFile is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(firstFile))!;
        return Path.Combine(directory, DefaultFileName);
    }
}

namespace Khonsu.Testing;

/// <summary>Where the build put the other programs a test, tool or benchmark starts (same configuration and framework as the caller).</summary>
public static class Built
{
    /// <param name="parts">The project's directory under the repository (e.g. "tools", "Khonsu.Cli"), then the file in its output.</param>
    public static string Path(params string[] parts)
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory).Name;
        var project = System.IO.Path.Combine([RepositoryRoot, .. parts[..^1]]);
        var path = System.IO.Path.Combine(project, "bin", Configuration, tfm, parts[^1]);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build Khonsu.Data.sln first.");
    }

    /// <summary>The repository the running program was built in: its output is &lt;repo&gt;/&lt;dir&gt;/&lt;project&gt;/bin/&lt;config&gt;/&lt;tfm&gt;/.</summary>
    public static string RepositoryRoot =>
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    /// <summary>The configuration (Debug, Release) the running program was built in.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}

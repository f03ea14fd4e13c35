namespace Khonsu.Testing;

/// <summary>Where the build put the other programs a test, tool or benchmark starts (same configuration and framework as the caller).</summary>
public static class Built
{
    /// <param name="parts">The project's directory under the repository (e.g. "tools", "Khonsu.Cli"), then the file in its output.</param>
    public static string Path(params string[] parts)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory); // <repo>/<dir>/<project>/bin/<config>/<tfm>/
        var tfm = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var repository = testOutput.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var project = System.IO.Path.Combine([repository, .. parts[..^1]]);
        var path = System.IO.Path.Combine(project, "bin", configuration, tfm, parts[^1]);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build Khonsu.Data.sln first.");
    }
}

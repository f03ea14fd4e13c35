namespace Khonsu.Log.Kafka.Tests;

/// <summary>Where the programs the tests start were built: beside this assembly's own output, same configuration.</summary>
internal static class RepoPaths
{
    public static string Built(string folder, string project)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory); // tests/<this>/bin/<config>/<tfm>/
        var root = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, folder, project, "bin", output.Parent.Name, output.Name, project + ".dll");
    }
}

// Khonsu's benchmark suite: every measurement side by side with its baseline in the same run,
// printed as ratios (RATIO lines), then all of them again as a summary. See docs/benchmarks.md.
using Khonsu.Benchmarks;

var options = BenchOptions.Parse(args, Console.Error);
if (options is null)
{
    return 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

var report = new RatioReport(Console.Out);
var started = DateTime.UtcNow;
Console.WriteLine($"Khonsu benchmarks ({(options.Quick ? "quick smoke profile: figures are meaningless" : "full profile")}), {Environment.ProcessorCount} cores, sections: {string.Join(", ", BenchOptions.AllSections.Where(options.Runs))}");
await using (var environment = await BenchEnvironment.CreateAsync(options, cancellation.Token))
{
    var suite = new Suite(options, environment, report);
    await suite.RunAsync(cancellation.Token);
}

var missing = report.PrintSummary(BenchOptions.AllSections.Where(options.Runs));
Console.WriteLine($"suite took {(DateTime.UtcNow - started).TotalSeconds:0} s");
return missing.Count == 0 ? 0 : 1;

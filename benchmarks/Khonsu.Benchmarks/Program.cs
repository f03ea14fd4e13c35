// Khonsu's benchmark suite: every measurement side by side with its baseline in the same run,
// printed as ratios (RATIO lines), then all of them again as a summary. See docs/benchmarks.md.
using Khonsu.Benchmarks;

if (args.Length > 0 && args[0] == ProcessWorker.Flag)
{
    return await ProcessWorker.RunAsync(args); // one application process of the processes section
}

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
try
{
    await using var environment = await BenchEnvironment.CreateAsync(options, cancellation.Token);
    await new Suite(options, environment, report).RunAsync(cancellation.Token);
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // What was measured so far is still printed below; the run fails.
    Console.Error.WriteLine($"benchmark run failed: {e}");
    report.PrintSummary(BenchOptions.AllSections.Where(options.Runs));
    return 1;
}

var missing = report.PrintSummary(BenchOptions.AllSections.Where(options.Runs));
Console.WriteLine($"suite took {(DateTime.UtcNow - started).TotalSeconds:0} s");
return missing.Count == 0 ? 0 : 1;

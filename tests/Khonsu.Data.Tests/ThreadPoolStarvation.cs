namespace Khonsu.Data.Tests;

/// <summary>
/// Tests that starve the process's thread pool on purpose: they run alone, after every other
/// test, so that no other test waits on the pool they hold.
/// </summary>
[CollectionDefinition(nameof(ThreadPoolStarvation), DisableParallelization = true)]
public sealed class ThreadPoolStarvation;

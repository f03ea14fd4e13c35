namespace Khonsu.Checker.Checking;

/// <summary>
/// Shortest cycles inside one strongly connected component, through an edge of a given kind, with
/// the rest of the cycle restricted to some kinds (Elle's constrained cycle search): for each
/// candidate edge a→b, a breadth-first search from b back to a.
/// </summary>
internal sealed class CycleFinder(DependencyGraph graph, IReadOnlyCollection<int> component, int maxStarts)
{
    private readonly HashSet<int> _members = [.. component];

    /// <summary>
    /// The shortest cycle found that starts with an edge of kind <paramref name="through"/> and continues over
    /// edges of <paramref name="along"/>, accepted by <paramref name="accept"/>; null if none.
    /// </summary>
    public List<Step>? Find(EdgeKinds through, EdgeKinds along, Func<IReadOnlyList<Step>, bool> accept)
    {
        List<Step>? best = null;
        var starts = 0;
        foreach (var a in component)
        {
            foreach (var b in graph.Successors(a))
            {
                if (!_members.Contains(b) || (graph.Edge(a, b).Kinds & through) == 0)
                {
                    continue;
                }

                if (++starts > maxStarts)
                {
                    return best;
                }

                var path = ShortestPath(b, a, along);
                if (path is null)
                {
                    continue;
                }

                var cycle = new List<Step>(path.Count + 1) { new(a, b, through, graph.Edge(a, b).KeyOf(through)) };
                cycle.AddRange(path);
                if ((best is null || cycle.Count < best.Count) && accept(cycle))
                {
                    best = cycle;
                    if (best.Count == 2)
                    {
                        return best;
                    }
                }
            }
        }

        return best;
    }

    private List<Step>? ShortestPath(int from, int to, EdgeKinds along)
    {
        if (from == to)
        {
            return [];
        }

        var parent = new Dictionary<int, int> { [from] = from };
        var queue = new Queue<int>();
        queue.Enqueue(from);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in graph.Successors(v))
            {
                if (!_members.Contains(w) || parent.ContainsKey(w) || (graph.Edge(v, w).Kinds & along) == 0)
                {
                    continue;
                }

                parent[w] = v;
                if (w == to)
                {
                    var steps = new List<Step>();
                    for (var x = to; x != from; x = parent[x])
                    {
                        var p = parent[x];
                        var edge = graph.Edge(p, x);
                        var kind = edge.Preferred(along);
                        steps.Add(new Step(p, x, kind, edge.KeyOf(kind)));
                    }

                    steps.Reverse();
                    return steps;
                }

                queue.Enqueue(w);
            }
        }

        return null;
    }

    /// <summary>One edge of a cycle, named by the kind the cycle uses it as.</summary>
    public readonly record struct Step(int From, int To, EdgeKinds Kind, string Key);
}

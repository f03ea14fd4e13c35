namespace Khonsu.Checker.Checking;

/// <summary>
/// The dependency graph of a history: nodes are transactions, each edge a set of
/// <see cref="EdgeKinds"/> with the key that gave each kind. Self-edges are never added.
/// </summary>
internal sealed class DependencyGraph
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<List<int>> _successors = [];
    private readonly Dictionary<(int From, int To), EdgeLabel> _edges = [];

    public int Count => _names.Count;

    public string Name(int node) => _names[node];

    public IReadOnlyList<int> Successors(int node) => _successors[node];

    public EdgeLabel Edge(int from, int to) => _edges[(from, to)];

    /// <summary>The node of a transaction, or null when no edge touches it.</summary>
    public int? TryNode(string transactionId) => _index.TryGetValue(transactionId, out var node) ? node : null;

    public int Node(string transactionId)
    {
        if (!_index.TryGetValue(transactionId, out var node))
        {
            node = _names.Count;
            _index.Add(transactionId, node);
            _names.Add(transactionId);
            _successors.Add([]);
        }

        return node;
    }

    public void Add(string from, string to, EdgeKinds kind, string key)
    {
        if (string.Equals(from, to, StringComparison.Ordinal))
        {
            return;
        }

        var (f, t) = (Node(from), Node(to));
        if (!_edges.TryGetValue((f, t), out var label))
        {
            label = new EdgeLabel();
            _edges.Add((f, t), label);
            _successors[f].Add(t);
        }

        label.Add(kind, key);
    }

    /// <summary>Strongly connected components with more than one node (Tarjan, iterative).</summary>
    public List<List<int>> StronglyConnectedComponents()
    {
        var n = Count;
        var index = new int[n];
        var low = new int[n];
        var onStack = new bool[n];
        Array.Fill(index, -1);
        var stack = new Stack<int>();
        var components = new List<List<int>>();
        var next = 0;
        var work = new Stack<(int Node, int Child)>();
        for (var root = 0; root < n; root++)
        {
            if (index[root] >= 0)
            {
                continue;
            }

            work.Push((root, 0));
            while (work.Count > 0)
            {
                var (v, child) = work.Pop();
                if (child == 0)
                {
                    index[v] = low[v] = next++;
                    stack.Push(v);
                    onStack[v] = true;
                }

                var successors = _successors[v];
                var recursed = false;
                for (var i = child; i < successors.Count; i++)
                {
                    var w = successors[i];
                    if (index[w] < 0)
                    {
                        work.Push((v, i + 1));
                        work.Push((w, 0));
                        recursed = true;
                        break;
                    }

                    if (onStack[w])
                    {
                        low[v] = Math.Min(low[v], index[w]);
                    }
                }

                if (recursed)
                {
                    continue;
                }

                if (low[v] == index[v])
                {
                    var component = new List<int>();
                    int w;
                    do
                    {
                        w = stack.Pop();
                        onStack[w] = false;
                        component.Add(w);
                    }
                    while (w != v);
                    if (component.Count > 1)
                    {
                        components.Add(component);
                    }
                }

                if (work.Count > 0)
                {
                    var parent = work.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[v]);
                }
            }
        }

        return components;
    }
}

using Khonsu.Data.Routing;
using Npgsql;

namespace Khonsu.Data.Tests.Routing;

/// <summary>
/// <c>key = ANY (@array)</c> is a point lookup whose key count only an execution's parameter value
/// tells: the text gives the shape (cached per text), the parameters the count.
/// </summary>
public class ArrayPointLookupTests
{
    private static readonly string[] Id = ["id"];
    private static readonly string[] Pair = ["a", "b"];

    [Theory]
    [InlineData("SELECT id, version FROM slots WHERE id = ANY(@ids)", 1, "@ids")]
    [InlineData("select * from slots s where s.id = any ($1) and day = 2", 1, "$1")]
    [InlineData("DELETE FROM slots WHERE id = ANY(:ids) RETURNING id", 1, ":ids")]
    [InlineData("UPDATE slots SET day = 2 WHERE id = ANY(@ids) AND id IN (1, 2)", 2, null)] // the IN list bounds it
    public void An_array_parameter_bound_to_the_key_is_a_point_lookup_of_its_elements(string sql, int keys, string? array)
    {
        var lookup = PointLookupDetector.LookupOf(sql, Id);

        Assert.NotNull(lookup);
        Assert.Equal(keys, lookup.Keys);
        Assert.Equal(array is null ? [] : [array], lookup.KeyArrays);
        Assert.Null(array is null ? null : PointLookupDetector.KeysLookedUp(sql, Id)); // no count without the value
    }

    [Theory]
    [InlineData("SELECT * FROM slots WHERE id = ANY(ARRAY[1, 2])")]
    [InlineData("SELECT * FROM slots WHERE id = ANY(@ids) OR day = 1")]
    [InlineData("SELECT * FROM slots WHERE id = ANY(?)")]
    [InlineData("SELECT * FROM slots WHERE id <> ANY(@ids)")]
    [InlineData("SELECT * FROM slots WHERE id = ANY(@ids::int[])")]
    [InlineData("SELECT * FROM slots WHERE id = ALL(@ids)")]
    [InlineData("SELECT * FROM slots WHERE day = ANY(@days)")]
    public void Other_array_comparisons_are_no_point_lookup(string sql) => Assert.Null(PointLookupDetector.LookupOf(sql, Id));

    [Fact]
    public void A_composite_key_multiplies_the_array_by_the_other_columns_values()
    {
        var lookup = PointLookupDetector.LookupOf("SELECT * FROM pairs WHERE a = ANY(@as) AND b IN (1, 2, 3)", Pair)!;

        Assert.Equal(6, lookup.KeysFor(Parameters(("as", new[] { 7, 8 }))));
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void The_key_count_is_the_length_of_the_parameter_value(object? value, int? keys)
    {
        var lookup = PointLookupDetector.LookupOf("SELECT * FROM slots WHERE id = ANY(@ids)", Id)!;

        Assert.Equal(keys, lookup.KeysFor(Parameters(("ids", value))));
        Assert.Equal(keys, lookup.KeysFor(Parameters(("@ids", value))));
    }

    public static TheoryData<object?, int?> Values() => new()
    {
        { new[] { 1, 2, 3 }, 3 },
        { new List<long> { 4, 5 }, 2 },
        { Array.Empty<int>(), 0 },
        { DBNull.Value, 0 }, // = ANY (NULL) matches no row
        { "{1,2}", null }, // an array literal in text: Khonsu does not count it
        { 5, null },
    };

    [Fact]
    public void A_numbered_placeholder_is_its_parameter_by_position_and_a_missing_one_cannot_be_counted()
    {
        var lookup = PointLookupDetector.LookupOf("SELECT * FROM slots WHERE day = $1 AND id = ANY($2)", Id)!;

        Assert.Equal(2, lookup.KeysFor(Parameters(("", 1), ("", new[] { 1, 2 }))));
        Assert.Null(lookup.KeysFor(Parameters(("", 1))));
        Assert.Null(lookup.KeysFor(null));
    }

    [Fact]
    public void A_route_cached_for_the_text_takes_each_executions_count()
    {
        var route = new RouteDecision(null!, false, ["slots"], false) { Lookup = PointLookupDetector.LookupOf("SELECT * FROM slots WHERE id = ANY(@ids)", Id) };

        Assert.Null(route.PointKeys); // the text alone names no count: a whole-table read
        Assert.Equal(2, route.ForExecution(Parameters(("ids", new[] { 1, 2 }))).PointKeys);
        Assert.Equal(5, route.ForExecution(Parameters(("ids", new[] { 1, 2, 3, 4, 5 }))).PointKeys);
        Assert.Null(route.PointKeys);
    }

    private static NpgsqlParameterCollection Parameters(params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
        }

        return command.Parameters;
    }
}

namespace Khonsu.Engine.Tests.Items;

/// <summary>
/// An item keeps the hash it computed when it was made (the certifier's indexes hash every item
/// several times per certification), so every way of making one must leave that hash right.
/// </summary>
public class ItemIdTests
{
    [Fact]
    public void An_item_changed_by_with_equals_and_hashes_as_one_built_with_those_names()
    {
        var row = new ItemId("pg", "accounts", "7");

        var otherRow = row with { Key = "8" };
        var otherTable = row with { Table = "ledger" };
        var otherBackend = row with { Backend = "s1" };
        var table = row with { Key = null };

        Assert.Equal(new ItemId("pg", "accounts", "8"), otherRow);
        Assert.Equal(new ItemId("pg", "accounts", "8").GetHashCode(), otherRow.GetHashCode());
        Assert.Equal(new ItemId("pg", "ledger", "7").GetHashCode(), otherTable.GetHashCode());
        Assert.Equal(new ItemId("s1", "accounts", "7").GetHashCode(), otherBackend.GetHashCode());
        Assert.Equal(new ItemId("pg", "accounts", null).GetHashCode(), table.GetHashCode());
        Assert.Equal(table, row.TableOf);
        Assert.Equal(table.GetHashCode(), row.TableOf.GetHashCode());
        Assert.Equal(new ItemId("pg", "*", null).GetHashCode(), row.AnyTableOfBackend.GetHashCode());
    }

    [Fact]
    public void Items_built_from_equal_names_in_different_strings_meet_in_a_set()
    {
        var key = string.Concat("4", "2");
        var set = new HashSet<ItemId> { ItemId.Of("PG", "public.Accounts", key) };

        Assert.Contains(new ItemId("pg", "accounts", "42"), set);
        Assert.DoesNotContain(new ItemId("pg", "accounts", "43"), set);
        Assert.DoesNotContain(new ItemId("pg", "accounts", null), set);
        Assert.DoesNotContain(new ItemId("s1", "accounts", "42"), set);
    }

    [Fact]
    public void An_item_deconstructs_into_the_names_it_was_built_with()
    {
        var (backend, table, key) = new ItemId("pg", "accounts", "7");

        Assert.Equal(("pg", "accounts", "7"), (backend, table, key));
    }
}

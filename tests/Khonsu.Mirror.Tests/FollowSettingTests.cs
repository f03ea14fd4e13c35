using Khonsu.Data;

namespace Khonsu.Mirror.Tests;

/// <summary>The Follow.&lt;backend&gt; key: bad values are refused with a message naming the key.</summary>
public sealed class FollowSettingTests
{
    [Theory]
    [InlineData(";Follow.nosuch=accounts", "Key 'Follow.nosuch' names backend 'nosuch', which the connection string does not define.")]
    [InlineData(";Follow.ledger=\",\"", "Key 'Follow.ledger' must name the tables a mirror follows, separated by commas, e.g. Follow.ledger=accounts,orders.")]
    [InlineData(";Follow.ledger=\"a b\"", "Key 'Follow.ledger': 'a b' is not a table name (a name, or schema.name, without quotes or spaces).")]
    [InlineData(";Follow.ledger=x.y.z", "Key 'Follow.ledger': 'x.y.z' is not a table name (a name, or schema.name, without quotes or spaces).")]
    public void A_bad_follow_key_is_refused_naming_the_problem(string extra, string message)
    {
        // A connection string is checked when it is set, as ADO.NET providers do: the KhonsuException says why.
        var error = Assert.Throws<ArgumentException>(() => new KhonsuConnection($"Khonsu:Sqlite.ledger=\"Data Source={Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".db")}\"{extra}"));
        Assert.Equal(message, Assert.IsType<KhonsuException>(error.InnerException).Message);
    }
}

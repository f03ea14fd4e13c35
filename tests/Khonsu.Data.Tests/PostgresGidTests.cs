using Khonsu.Data.Postgres;
using Khonsu.Engine;

namespace Khonsu.Data.Tests;

/// <summary>The global ids Khonsu prepares transactions under on PostgreSQL: the log's tag in them, and the old form still read.</summary>
public class PostgresGidTests
{
    [Fact]
    public void A_gid_carries_the_logs_tag_and_fits_postgresql()
    {
        var id = TransactionId.New();
        var gid = PostgresSql.BranchGid("0123456789abcdef", id);

        Assert.Equal($"khonsu:0123456789abcdef:{id}/r", gid);
        Assert.True(gid.Length <= 200, "PostgreSQL's gid limit");
        Assert.True(PostgresSql.TryParseGid(gid, out var tag, out var parsed));
        Assert.Equal(("0123456789abcdef", id), (tag, parsed));
    }

    [Fact]
    public void A_gid_from_before_logs_were_told_apart_names_no_log()
    {
        var id = TransactionId.New();

        Assert.True(PostgresSql.TryParseGid($"khonsu:{id}", out var tag, out var parsed));
        Assert.Equal((null, id), (tag, parsed));
        Assert.True(PostgresSql.TryParseGid($"khonsu:{id}/r", out tag, out parsed));
        Assert.Equal((null, id), (tag, parsed));
        Assert.False(PostgresSql.TryParseGid($"other:{id}", out _, out _));
        Assert.False(PostgresSql.TryParseGid("khonsu:abc:not-a-transaction", out _, out _));
    }
}

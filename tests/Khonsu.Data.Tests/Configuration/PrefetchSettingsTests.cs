using Khonsu.Data.Configuration;

namespace Khonsu.Data.Tests.Configuration;

public class PrefetchSettingsTests
{
    [Fact]
    public void Prefetch_is_off_unless_asked_and_its_companions_apply_in_any_order()
    {
        Assert.Null(KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\"").Prefetch);

        var settings = KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";PrefetchBudget=8;PrefetchConfidence=0.9;Prefetch=On;PrefetchState=/tmp/p.bin");

        Assert.Equal(new PrefetchSettings(0.9, 8, "/tmp/p.bin"), settings.Prefetch);
        Assert.Null(KhonsuConnectionStringParser.Parse("Khonsu:Sqlite.a=\"Data Source=a.db\";Prefetch=Off;PrefetchBudget=8").Prefetch);
    }

    [Theory]
    [InlineData("Prefetch=maybe", "Key 'Prefetch' must be 'Off'")]
    [InlineData("PrefetchConfidence=0", "Key 'PrefetchConfidence' must be a number greater than 0 and at most 1")]
    [InlineData("PrefetchConfidence=1.5", "Key 'PrefetchConfidence' must be a number greater than 0 and at most 1")]
    [InlineData("PrefetchBudget=-1", "Key 'PrefetchBudget' must be a whole number")]
    public void A_bad_prefetch_setting_is_named(string setting, string message)
    {
        var error = Assert.Throws<KhonsuException>(() => KhonsuConnectionStringParser.Parse($"Khonsu:Sqlite.a=\"Data Source=a.db\";{setting}"));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }
}

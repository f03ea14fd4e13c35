using Khonsu.Engine.Prefetch;
using Xunit;

namespace Khonsu.Engine.Tests.Prefetch;

public class FollowUpModelTests
{
    private const string Order = "SELECT id, customer_id FROM orders WHERE id = @id";
    private const string Lines = "SELECT id, product_id FROM order_lines WHERE order_id = @id";
    private const string Customer = "SELECT name FROM customers WHERE id = @c";
    private const string Stock = "SELECT qty FROM stock WHERE product_id = @p";

    /// <summary>One N+1 transaction: an order, its lines, its customer, the stock of each line.</summary>
    private static void RunOrder(FollowUpModel model, int order)
    {
        var customer = 1000 + order;
        var products = new[] { order * 10 + 1, order * 10 + 2, order * 10 + 3 };
        var history = new List<StatementObservation>();
        void Run(StatementObservation o)
        {
            model.Learn(history, o);
            history.Add(o);
        }

        Run(new StatementObservation(Order, [order], [[(long)order, (long)customer]]));
        Run(new StatementObservation(Lines, [order], products.Select((p, i) => new object?[] { (long)i, (long)p }).ToList()));
        Run(new StatementObservation(Customer, [customer], [["name"]]));
        foreach (var product in products)
        {
            Run(new StatementObservation(Stock, [product], [[5]]));
        }
    }

    [Fact]
    public void Learns_parameters_from_earlier_parameters_and_from_each_row_of_an_earlier_result()
    {
        var model = new FollowUpModel();
        for (var order = 1; order <= 10; order++)
        {
            RunOrder(model, order);
        }

        var afterOrder = model.Predict(new StatementObservation(Order, [77], [[77L, 1077L]]));
        Assert.Contains(afterOrder, p => p.Template == Lines && p.Parameters.SequenceEqual(new object?[] { 77 }));
        Assert.Contains(afterOrder, p => p.Template == Customer && p.Parameters.SequenceEqual(new object?[] { 1077L }));

        var afterLines = model.Predict(new StatementObservation(Lines, [77], [[0L, 771L], [1L, 772L]]));
        var stock = afterLines.Where(p => p.Template == Stock).Select(p => p.Parameters.Single()).ToList();
        Assert.Equal(new object?[] { 771L, 772L }, stock);
    }

    [Fact]
    public void Predicts_nothing_before_a_template_has_enough_support()
    {
        var model = new FollowUpModel(new FollowUpModelOptions { MinSupport = 5 });
        for (var order = 1; order <= 4; order++)
        {
            RunOrder(model, order);
        }

        Assert.Empty(model.Predict(new StatementObservation(Order, [77], [[77L, 1077L]])));
        RunOrder(model, 5);
        Assert.NotEmpty(model.Predict(new StatementObservation(Order, [77], [[77L, 1077L]])));
    }

    [Fact]
    public void A_follow_up_that_rarely_follows_is_not_predicted()
    {
        var model = new FollowUpModel();
        for (var i = 0; i < 20; i++)
        {
            var history = new List<StatementObservation>();
            var first = new StatementObservation(Order, [i], [[(long)i, 1L]]);
            model.Learn(history, first);
            history.Add(first);
            if (i % 4 == 0)
            {
                model.Learn(history, new StatementObservation(Lines, [i], []));
            }
        }

        Assert.DoesNotContain(model.Predict(new StatementObservation(Order, [99], [[99L, 1L]])), p => p.Template == Lines);
    }

    [Fact]
    public void Old_patterns_fade_when_the_application_changes()
    {
        var model = new FollowUpModel(new FollowUpModelOptions { ForgetAfter = 16 });
        for (var order = 1; order <= 40; order++)
        {
            RunOrder(model, order);
        }

        Assert.Contains(model.Predict(new StatementObservation(Order, [7], [[7L, 1007L]])), p => p.Template == Lines);

        // The application stops reading lines after an order. Twelve runs: without forgetting, 40
        // of 52 runs were followed by lines (0.77, still predicted); with it, the old runs weigh less.
        for (var i = 0; i < 12; i++)
        {
            model.Learn([], new StatementObservation(Order, [i], [[(long)i, 5L]]));
        }

        Assert.DoesNotContain(model.Predict(new StatementObservation(Order, [7], [[7L, 1007L]])), p => p.Template == Lines);
    }

    [Fact]
    public void Stays_within_its_bounds()
    {
        var model = new FollowUpModel(new FollowUpModelOptions { MaxTemplates = 8, MaxFollowers = 2 });
        var history = new List<StatementObservation>();
        for (var i = 0; i < 100; i++)
        {
            var observation = new StatementObservation($"SELECT {i}", [], []);
            model.Learn(history, observation);
            history.Add(observation);
        }

        Assert.Equal(8, model.TemplateCount);
    }

    [Fact]
    public void A_restored_model_predicts_what_the_saved_one_did()
    {
        var model = new FollowUpModel();
        for (var order = 1; order <= 10; order++)
        {
            RunOrder(model, order);
        }

        var state = model.Save();
        var restored = FollowUpModel.Restore(state);
        var probe = new StatementObservation(Order, [77], [[77L, 1077L]]);
        Assert.Equal(
            model.Predict(probe).Select(p => (p.Template, string.Join(",", p.Parameters), p.Confidence)),
            restored.Predict(probe).Select(p => (p.Template, string.Join(",", p.Parameters), p.Confidence)));
        Assert.Equal(state, restored.Save());
        Assert.True(state.Length < 2048, $"the saved state of four templates took {state.Length} bytes");
    }

    [Fact]
    public void A_state_of_another_version_is_refused()
        => Assert.Throws<InvalidDataException>(() => FollowUpModel.Restore(new byte[] { 9, 0 }));

    [Fact]
    public void Precision_and_recall_count_what_was_consumed_and_served()
    {
        var model = new FollowUpModel();
        Assert.Null(model.Precision);
        Assert.Null(model.Recall);
        model.Judged(Lines, consumed: true);
        model.Judged(Lines, consumed: true);
        model.Judged(Lines, consumed: false);
        model.Judged(Lines, consumed: true);
        model.ApplicationRead(served: true);
        model.ApplicationRead(served: false);
        Assert.Equal(0.75, model.Precision);
        Assert.Equal(0.5, model.Recall);
    }

    [Fact]
    public void A_template_whose_prefetches_go_unused_is_switched_off()
    {
        var model = new FollowUpModel(new FollowUpModelOptions { SwitchAfter = 4 });
        for (var order = 1; order <= 10; order++)
        {
            RunOrder(model, order);
        }

        for (var i = 0; i < 4; i++)
        {
            model.Judged(Customer, consumed: false);
        }

        Assert.True(model.IsSwitchedOff(Customer));
        Assert.DoesNotContain(model.Predict(new StatementObservation(Order, [7], [[7L, 1007L]])), p => p.Template == Customer);
        Assert.False(model.IsSwitchedOff(Lines));
    }

    [Fact]
    public void Integers_of_any_width_match_and_null_never_does()
    {
        Assert.True(ObservedValues.Match(5L, 5));
        Assert.False(ObservedValues.Match(5L, 6));
        Assert.False(ObservedValues.Match(null, null));
        Assert.False(ObservedValues.Match(DBNull.Value, DBNull.Value));
        Assert.True(ObservedValues.Match("a", "a"));
    }
}

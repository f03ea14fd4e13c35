namespace Khonsu.Ecosystem.Tests.EntityFramework;

public sealed class Order
{
    public int Id { get; set; }

    public int AccountId { get; set; }

    public int Amount { get; set; }
}

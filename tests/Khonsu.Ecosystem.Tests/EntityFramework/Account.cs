namespace Khonsu.Ecosystem.Tests.EntityFramework;

public sealed class Account
{
    public int Id { get; set; }

    public string Owner { get; set; } = string.Empty;

    public int Balance { get; set; }
}

namespace Khonsu.Log.Kafka.Tests;

public sealed class KafkaLogAddressTests
{
    [Theory]
    [InlineData("kafka://k1:9092/khonsu-log", "k1:9092", "khonsu-log")]
    [InlineData("KAFKA://k1:9092, k2:9093/app.log_1", "k1:9092,k2:9093", "app.log_1")]
    public void Parses_brokers_and_topic(string text, string brokers, string topic)
        => Assert.Equal(new KafkaLogAddress(brokers, topic), KafkaLogAddress.Parse(text));

    [Theory]
    [InlineData("k1:9092/topic")] // no scheme
    [InlineData("kafka://k1:9092")] // no topic
    [InlineData("kafka://k1:9092/")] // empty topic
    [InlineData("kafka:///topic")] // no brokers
    [InlineData("kafka://k1/topic")] // no port
    [InlineData("kafka://k1:0/topic")] // port 0
    [InlineData("kafka://k1:9092/bad topic")] // invalid topic name
    public void Refuses_what_is_not_an_address(string text)
        => Assert.Throws<ArgumentException>(() => KafkaLogAddress.Parse(text));
}

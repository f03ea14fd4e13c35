namespace Khonsu.Engine.Codec;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of every encoded log record. Table-driven because
/// System.IO.Hashing is not available to the Engine; records are small, so one byte a step is enough.
/// </summary>
internal static class Crc32C
{
    // Bit-reversed form of the Castagnoli polynomial 0x1EDC6F41.
    private const uint ReversedPolynomial = 0x82F63B78u;

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var value in data)
        {
            crc = Table[(byte)(crc ^ value)] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint index = 0; index < table.Length; index++)
        {
            var entry = index;
            for (var bit = 0; bit < 8; bit++)
            {
                entry = (entry & 1) != 0 ? (entry >> 1) ^ ReversedPolynomial : entry >> 1;
            }

            table[index] = entry;
        }

        return table;
    }
}

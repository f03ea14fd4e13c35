using System.Data;
using System.Data.Common;

namespace Khonsu.Data.Prefetch;

/// <summary>
/// How the application passed one parameter of a template: what a prefetch of that template
/// copies (so it runs the statement the application would), and what a later execution must
/// match to be served.
/// </summary>
internal sealed record ParameterShape(string Name, DbType? DbType, int Size, byte Precision, byte Scale, Type? ValueType)
{
    public static ParameterShape? Of(KhonsuParameter parameter)
        => parameter.Direction != ParameterDirection.Input
            ? null // An output parameter is written by the statement: nothing to prefetch.
            : new ParameterShape(parameter.ParameterName, parameter.HasDbType ? parameter.DbType : null, parameter.Size, parameter.Precision, parameter.Scale, parameter.Value?.GetType());

    /// <summary>The parameter on an inner command, with <paramref name="value"/> converted to the type the application passed.</summary>
    public DbParameter ToInner(DbParameter parameter, object value)
    {
        parameter.ParameterName = Name;
        parameter.Value = value;
        if (DbType is { } type)
        {
            parameter.DbType = type;
        }

        if (Size != 0)
        {
            parameter.Size = Size;
        }

        if (Precision != 0)
        {
            parameter.Precision = Precision;
        }

        if (Scale != 0)
        {
            parameter.Scale = Scale;
        }

        return parameter;
    }

    /// <summary>A value the model derived, as the application would pass it: converted to its type, or null when it does not convert exactly.</summary>
    public object? Convert(object value)
    {
        if (ValueType is null || value.GetType() == ValueType)
        {
            return value;
        }

        try
        {
            var converted = System.Convert.ChangeType(value, ValueType, System.Globalization.CultureInfo.InvariantCulture);
            return Equals(System.Convert.ChangeType(converted, value.GetType(), System.Globalization.CultureInfo.InvariantCulture), value) ? converted : null;
        }
        catch (Exception error) when (error is InvalidCastException or FormatException or OverflowException)
        {
            return null;
        }
    }
}

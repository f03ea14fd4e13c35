using System.Data;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>Copies Khonsu's parameters onto the inner provider's command, and output values back.</summary>
internal static class ParameterCopier
{
    public static void CopyIn(KhonsuParameterCollection parameters, DbCommand inner)
    {
        foreach (DbParameter source in parameters)
        {
            var target = inner.CreateParameter();
            target.ParameterName = source.ParameterName;
            target.Value = source.Value ?? DBNull.Value;
            target.Direction = source.Direction;
            target.IsNullable = source.IsNullable;
            target.SourceColumn = source.SourceColumn;
            if (source is not KhonsuParameter khonsu || khonsu.HasDbType)
            {
                target.DbType = source.DbType;
            }

            if (source.Size != 0)
            {
                target.Size = source.Size;
            }

            if (source.Precision != 0)
            {
                target.Precision = source.Precision;
            }

            if (source.Scale != 0)
            {
                target.Scale = source.Scale;
            }

            inner.Parameters.Add(target);
        }
    }

    public static void CopyOut(DbCommand inner, KhonsuParameterCollection parameters)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Direction != ParameterDirection.Input)
            {
                parameters[i].Value = inner.Parameters[i].Value;
            }
        }
    }
}

using System.Reflection;
using System.Reflection.Emit;

namespace Khonsu.Engine.Tests.Architecture;

/// <summary>
/// Which types the types of a namespace use, read by reflection from the compiled assembly: base
/// types and interfaces, fields, properties, events, method and constructor signatures, local
/// variables, and every type, field and method a method body names (its IL tokens). Nested and
/// compiler-generated types (lambdas, async state machines) belong to their enclosing namespace,
/// so what a lambda or an async method uses counts too. Attributes and XML doc references do not.
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(code => code.Value);

    /// <summary>Each use, by a type of namespace <paramref name="from"/> (or below it), of a type of namespace <paramref name="to"/> (or below it).</summary>
    public static List<string> Between(Assembly assembly, string from, string to)
    {
        var found = new List<string>();
        foreach (var type in assembly.GetTypes().Where(type => InNamespace(type, from)))
        {
            foreach (var (where, used) in UsesOf(type))
            {
                foreach (var named in Expand(used).Where(named => InNamespace(named, to)))
                {
                    found.Add($"{type.FullName}{where} uses {named.FullName}");
                }
            }
        }

        return found.Distinct().ToList();
    }

    private static bool InNamespace(Type type, string ns)
        => type.Namespace is { } name && (name == ns || name.StartsWith(ns + ".", StringComparison.Ordinal));

    private static IEnumerable<(string Where, Type Used)> UsesOf(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return (" (base type)", baseType);
        }

        foreach (var implemented in type.GetInterfaces())
        {
            yield return (" (interface)", implemented);
        }

        foreach (var field in type.GetFields(Everything))
        {
            yield return ("." + field.Name, field.FieldType);
        }

        foreach (var property in type.GetProperties(Everything))
        {
            yield return ("." + property.Name, property.PropertyType);
        }

        foreach (var @event in type.GetEvents(Everything))
        {
            yield return ("." + @event.Name, @event.EventHandlerType!);
        }

        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            var where = "." + method.Name;
            if (method is MethodInfo { ReturnType: var returned })
            {
                yield return (where, returned);
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return (where, parameter.ParameterType);
            }

            foreach (var used in BodyOf(method))
            {
                yield return (where + " (body)", used);
            }
        }
    }

    /// <summary>The types of a method's locals, and the types whose members or selves its IL names.</summary>
    private static IEnumerable<Type> BodyOf(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null)
        {
            yield break;
        }

        foreach (var local in body.LocalVariables)
        {
            yield return local.LocalType;
        }

        var il = body.GetILAsByteArray() ?? [];
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var at = 0; at < il.Length;)
        {
            var code = il[at] == 0xFE ? OpCodesByValue[unchecked((short)(0xFE00 | il[at + 1]))] : OpCodesByValue[il[at]];
            at += code.Size;
            if (code.OperandType is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType)
            {
                var member = method.Module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                foreach (var used in Named(member))
                {
                    yield return used;
                }
            }

            at += OperandSize(code.OperandType, il, at);
        }
    }

    /// <summary>A member a body names: the type itself, or the member's declaring type and signature.</summary>
    private static IEnumerable<Type> Named(MemberInfo? member)
    {
        switch (member)
        {
            case Type type:
                yield return type;
                break;
            case FieldInfo field:
                yield return field.DeclaringType!;
                yield return field.FieldType;
                break;
            case MethodBase called:
                yield return called.DeclaringType!;
                if (called is MethodInfo calledMethod)
                {
                    yield return calledMethod.ReturnType;
                    foreach (var argument in calledMethod.IsGenericMethod ? calledMethod.GetGenericArguments() : [])
                    {
                        yield return argument;
                    }
                }

                foreach (var parameter in called.GetParameters())
                {
                    yield return parameter.ParameterType;
                }

                break;
        }
    }

    private static int OperandSize(OperandType operand, byte[] il, int at) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
        _ => 4,
    };

    /// <summary>A type and what it is made of: element types of arrays and references, generic arguments.</summary>
    private static IEnumerable<Type> Expand(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var element in Expand(type.GetElementType()!))
            {
                yield return element;
            }

            yield break;
        }

        yield return type;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Expand))
            {
                yield return argument;
            }
        }
    }
}

using System.Text.RegularExpressions;

namespace RunLedger.Storage;

/// <summary>Client-side checks of names and keys, so mistakes fail fast with a clear message.</summary>
internal static partial class StorageNames
{
    public static void ValidateTableName(string tableName)
    {
        ArgumentNullException.ThrowIfNull(tableName);
        if (!TableNamePattern().IsMatch(tableName) || string.Equals(tableName, "tables", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(
                $"'{tableName}' is not a valid table name: 3-63 letters or digits, starting with a letter, and not 'tables'.",
                nameof(tableName));
        }
    }

    public static void ValidateQueueName(string queueName)
    {
        ArgumentNullException.ThrowIfNull(queueName);
        if (!QueueNamePattern().IsMatch(queueName) || queueName.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{queueName}' is not a valid queue name: 3-63 lower-case letters, digits or single dashes, starting and ending with a letter or digit.",
                nameof(queueName));
        }
    }

    /// <summary>PartitionKey and RowKey: at most 1 KiB, and never / \ # ? or control characters.</summary>
    public static void ValidateKey(string? key, string name)
    {
        if (key is null)
        {
            throw new ArgumentException($"{name} must not be null.", name);
        }

        if (key.Length > 1024)
        {
            throw new ArgumentException($"{name} is longer than 1,024 characters.", name);
        }

        foreach (var c in key)
        {
            if (c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                throw new ArgumentException($"{name} contains a character the Table service forbids (/ \\ # ? or a control character).", name);
            }
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex TableNamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex QueueNamePattern();
}

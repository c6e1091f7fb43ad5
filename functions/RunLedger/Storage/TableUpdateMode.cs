namespace RunLedger.Storage;

/// <summary>Merge keeps properties the update does not mention; Replace drops them.</summary>
public enum TableUpdateMode
{
    Merge,
    Replace,
}

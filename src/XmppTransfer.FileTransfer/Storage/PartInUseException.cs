namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// A part file another open holds locked (another receive into the same folder is writing or hashing it): unlike an
/// unreadable part, it is not to be started over, which would unlink the file the other receive writes to.
/// </summary>
internal sealed class PartInUseException(string path)
    : IOException($"The process cannot access the file '{path}' because it is being used by another process.");

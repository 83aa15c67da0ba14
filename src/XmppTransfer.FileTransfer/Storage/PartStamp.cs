namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Which file a resumed part is (device and inode), as read from the descriptor that hashed its prefix: the part is opened
/// again for writing only if it is still that very file (<see cref="ExistingPart"/>), so a link, a FIFO or another file
/// swapped in under its name between the two opens is refused instead of being written to.
/// </summary>
internal readonly record struct PartStamp(ulong Device, ulong Inode);

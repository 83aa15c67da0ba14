namespace XmppTransfer.FileTransfer.Storage;

/// <summary>What a path names in the file system, as far as sending and receiving care (<see cref="FileKindProbe"/>).</summary>
internal enum FileKind
{
    /// <summary>Nothing is there (or a symbolic link whose target is missing, when links are followed).</summary>
    Missing,

    /// <summary>A regular file: the only kind that is sent, and the only kind a receive writes.</summary>
    RegularFile,

    Directory,

    /// <summary>A symbolic link (only when links are not followed).</summary>
    SymbolicLink,

    /// <summary>A FIFO (<c>mkfifo</c>, or the <c>/dev/fd/N</c> of <c>&lt;(command)</c>): opening it waits for the other end.</summary>
    NamedPipe,

    /// <summary>A Unix domain socket's file: it cannot be opened at all.</summary>
    Socket,

    /// <summary>A character device (<c>/dev/null</c>, a terminal): it may never end, or wait for input.</summary>
    CharacterDevice,

    /// <summary>A block device (a disk): not a file, and opening it for writing would write to the disk itself.</summary>
    BlockDevice,
}

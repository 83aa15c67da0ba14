namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// The zero-copy receive's file-side call: one splice(2) from the pipe into the file, the call that hangs when the disk
/// does. <see cref="SocketFileSplice.SpliceToFile"/> is the real one; tests put one of their own in its place (a disk
/// that never answers).
/// </summary>
/// <param name="pipe">The pipe's read end.</param>
/// <param name="file">The file's descriptor, opened for writing.</param>
/// <param name="offset">Where in the file the bytes go.</param>
/// <param name="length">Most bytes to move.</param>
/// <returns>The bytes written, or -1 with errno left for <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>.</returns>
internal delegate nint FileSpliceCall(int pipe, int file, long offset, nuint length);

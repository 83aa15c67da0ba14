using System.Diagnostics;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// A part name is claimed against other processes when it is chosen (<c>name.part.lock</c> under flock), not only once
/// the part is opened: two receives of one name that start together in two processes would otherwise both choose
/// <c>name.part</c>, the second unlinking the first's file under it. flock locks belong to an open file, so another open
/// in this process stands for another process; one test uses a real one (flock(1)).
/// </summary>
public sealed class PartLockTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("xft-partlock-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string LockPath => PartLock.PathFor(_directory, "x.bin");

    [Fact]
    public void A_name_another_process_has_claimed_but_whose_part_it_has_not_opened_yet_is_passed_over()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Part names are claimed across processes on Linux.");

        // The other receive's lease: its lock file, locked; no part yet.
        using var other = new FileStream(LockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);

        using var lease = PartNames.Take(_directory, "x.bin");

        Assert.Equal("x.bin.2", lease.Name);
        Assert.False(File.Exists(PartialFile.DataPath(_directory, "x.bin")));
    }

    [Fact]
    public async Task A_name_claimed_by_a_receive_in_another_process_is_passed_over()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/usr/bin/flock"), "Needs Linux and flock(1).");
        var info = new ProcessStartInfo("/usr/bin/flock")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in new[] { "-n", LockPath, "sh", "-c", "echo locked; read line" })
        {
            info.ArgumentList.Add(argument);
        }

        using var holder = Process.Start(info)!;
        try
        {
            // It says so once it holds the lock; it lets go when its stdin closes.
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(s_cap));

            using (var lease = PartNames.Take(_directory, "x.bin"))
            {
                Assert.Equal("x.bin.2", lease.Name);
            }

            holder.StandardInput.Close();
            await holder.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
            using var after = PartNames.Take(_directory, "x.bin");
            Assert.Equal("x.bin", after.Name);
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    [Fact]
    public void A_lease_holds_its_lock_file_while_it_lasts_and_removes_it_when_released()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Part names are claimed across processes on Linux.");

        using (PartNames.Take(_directory, "x.bin"))
        {
            Assert.True(File.Exists(LockPath));
            Assert.Throws<IOException>(() => new FileStream(LockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
        }

        Assert.False(File.Exists(LockPath));
    }

    [Fact]
    public void A_lock_file_left_by_a_receive_that_crashed_is_taken_over()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Part names are claimed across processes on Linux.");
        File.WriteAllBytes(LockPath, []);

        using (var lease = PartNames.Take(_directory, "x.bin"))
        {
            Assert.Equal("x.bin", lease.Name);
        }

        Assert.False(File.Exists(LockPath));
    }

    [Fact]
    public void A_link_planted_as_a_lock_file_is_neither_followed_nor_a_reason_to_refuse_the_name()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Part names are claimed across processes on Linux.");
        var target = Path.Combine(_directory, "target");
        File.CreateSymbolicLink(LockPath, target);

        using (var lease = PartNames.Take(_directory, "x.bin"))
        {
            Assert.Equal("x.bin", lease.Name);
        }

        Assert.False(File.Exists(target));
        Assert.NotNull(new FileInfo(LockPath).LinkTarget);
    }
}

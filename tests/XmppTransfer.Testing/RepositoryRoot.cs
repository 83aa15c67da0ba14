namespace XmppTransfer.Testing;

/// <summary>The checkout the tests run from: the folder holding XmppTransfer.slnx, above the test binaries.</summary>
public static class RepositoryRoot
{
    public static string Path
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "XmppTransfer.slnx")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (XmppTransfer.slnx) above " + AppContext.BaseDirectory);
        }
    }
}

using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The live bar's size and rate in binary units (MiB, MiB/s), as the plain progress lines, the results and the docs give
/// them: Spectre's own columns count in decimal MB here, so a 400 MiB file showed as "419.4 MB".
/// </summary>
internal static class MiBColumns
{
    public static string Format(double bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>"12.0/64.0 MiB".</summary>
    public sealed class Transferred : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup($"{Format(task.Value)}/{Format(task.MaxValue)} MiB");
    }

    /// <summary>"41.2 MiB/s", or nothing before the first rate is known.</summary>
    public sealed class Speed : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.Speed is { } speed ? new Markup($"{Format(speed)} MiB/s") : Text.Empty;
    }
}

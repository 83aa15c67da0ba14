using System.Text.Json;

namespace XmppTransfer.Cli.Proxy;

/// <summary>
/// With <c>--json</c>, one JSON object per line on <paramref name="output"/> for each daemon event (for scripts and tests).
/// <c>xft proxy</c> passes stdout; a host or a test passes its own writer, and nothing goes to the console then.
/// </summary>
internal sealed class ProxyEvents(bool enabled, TextWriter output)
{
    private readonly Lock _lock = new();

    public void Write(string name, object? data = null)
    {
        if (!enabled)
        {
            return;
        }

        Dictionary<string, object?> fields = new() { ["event"] = name };
        if (data is not null)
        {
            foreach (var property in JsonSerializer.SerializeToElement(data).EnumerateObject())
            {
                fields[property.Name] = property.Value;
            }
        }

        string line = JsonSerializer.Serialize(fields);
        lock (_lock)
        {
            // Flushed per line: a script reading the pipe acts on each event as it happens.
            output.WriteLine(line);
            output.Flush();
        }
    }
}

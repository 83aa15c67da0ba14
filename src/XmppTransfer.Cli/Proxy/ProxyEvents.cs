using System.Text.Json;

namespace XmppTransfer.Cli.Proxy;

/// <summary>With <c>--json</c>, one JSON object per line on stdout for each daemon event (for scripts and tests).</summary>
internal sealed class ProxyEvents(bool enabled)
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
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}

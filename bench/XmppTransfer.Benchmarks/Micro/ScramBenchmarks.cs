using BenchmarkDotNet.Attributes;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Benchmarks.Micro;

/// <summary>A whole SCRAM-SHA-256 exchange, client and server in one process, 4096 iterations (PBKDF2 dominates, twice: client and server-side proof check is cheap).</summary>
[MemoryDiagnoser]
public class ScramBenchmarks
{
    private ScramCredential _credential = null!;

    [GlobalSetup]
    public void Setup() => _credential = ScramCredential.Create(ScramHashAlgorithm.Sha256, "pencil", 4096);

    [Benchmark]
    public string? ClientAndServerExchange()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "user", "pencil", ScramChannelBinding.None);
        var server = new ScramServer(ScramHashAlgorithm.Sha256, name => name == "user" ? _credential : null, null, plusVariant: false);
        var serverFirst = server.HandleClientFirst(client.GetInitialResponse());
        var serverFinal = server.HandleClientFinal(client.EvaluateChallenge(serverFirst));
        client.VerifySuccess(serverFinal);
        return server.AuthenticatedUsername;
    }
}

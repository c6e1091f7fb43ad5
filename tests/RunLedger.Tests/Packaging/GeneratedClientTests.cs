using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag.CodeGeneration.CSharp;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// A client can be generated from the OpenAPI document, as a user of the API would make one
/// (NSwag's C# client), and it compiles: a method per operation, a class per schema.
/// </summary>
public sealed class GeneratedClientTests
{
    [Fact]
    public async Task ACSharpClientGeneratedFromTheDocumentCompilesWithAMethodForEveryOperation()
    {
        var json = RunLedger.Hosting.OpenApiDocument.Build(typeof(RunLedger.Hosting.OpenApiDocument).Assembly).ToJsonString();
        var document = await NSwag.OpenApiDocument.FromJsonAsync(json);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "RunLedgerClient",
            UseBaseUrl = true,
            CSharpGeneratorSettings = { Namespace = "RunLedger.Generated", JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson },
        };

        var code = new CSharpClientGenerator(document, settings).GenerateFile();

        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("RunLedger.Generated", [CSharpSyntaxTree.ParseText(code)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, "The generated client does not compile:\n" + string.Join("\n", errors.Take(20)));

        var client = compilation.GetTypeByMetadataName("RunLedger.Generated.RunLedgerClient")!;
        var operations = document.Operations.Select(o => o.Operation.OperationId).ToList();
        Assert.NotEmpty(operations);
        Assert.All(operations, id => Assert.NotEmpty(client.GetMembers(id + "Async")));
        Assert.All(document.Components.Schemas.Keys, name => Assert.NotNull(compilation.GetTypeByMetadataName("RunLedger.Generated." + name)));
    }
}

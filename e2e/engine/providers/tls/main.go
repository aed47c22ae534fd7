// Command pulumi-resource-tls bridges the Terraform tls provider (plugin framework) for
// @pulumi/tls, with the options pulumi-tls v5.3.0 sets in provider/resources.go.
package main

import (
	"github.com/hashicorp/terraform-provider-tls/shim"
	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"tikvcvm.local/engine/providers/bridge"
)

// version is the @pulumi/tls version this plugin answers for; engine.sh sets it.
var version = "0.0.0-dev"

func main() {
	bridge.Run(bridge.PluginFramework, func(meta *tfbridge.MetadataInfo) tfbridge.ProviderInfo {
		info := tfbridge.ProviderInfo{
			P:                              pftfbridge.ShimProvider(shim.NewProvider()),
			Name:                           "tls",
			Version:                        version,
			MetadataInfo:                   meta,
			EnableZeroDefaultSchemaVersion: true,
			EnableAccurateBridgePreview:    true,
		}
		info.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
		return info
	})
}

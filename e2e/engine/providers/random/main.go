// Command pulumi-resource-random bridges the Terraform random provider (plugin framework) for
// @pulumi/random, with the tokens and options pulumi-random v4.19.1 sets in
// provider/resources.go (resource names keep the "Random" prefix: random_password →
// random:index/randomPassword:RandomPassword).
package main

import (
	"context"
	"errors"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"

	"tikvcvm.local/engine/providers/bridge"
)

// version is the @pulumi/random version this plugin answers for; engine.sh sets it.
var version = "0.0.0-dev"

func main() {
	bridge.Run(bridge.PluginFramework, func(meta *tfbridge.MetadataInfo) tfbridge.ProviderInfo {
		info := tfbridge.ProviderInfo{
			P:            pftfbridge.ShimProvider(shim.NewProvider()),
			Name:         "random",
			Version:      version,
			MetadataInfo: meta,
			Resources: map[string]*tfbridge.ResourceInfo{
				// random_bytes has no "id" attribute: its ID is the base64 value, as upstream.
				"random_bytes": {ComputeID: bytesID},
			},
			EnableAccurateBridgePreview: true,
			EnableRawStateDelta:         true,
		}
		standard := tokens.MakeStandard("random")
		info.MustComputeTokens(tokens.SingleModule("random_", "index",
			func(module, name string) (string, error) { return standard(module, "Random"+name) }))
		return info
	})
}

func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes: no base64 property in state")
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return "", errors.New("random_bytes: base64 is not a string")
	}
	return resource.ID(v.StringValue()), nil
}

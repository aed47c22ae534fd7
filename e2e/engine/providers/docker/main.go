// Command pulumi-resource-docker bridges the Terraform docker provider (kreuzwerker) for
// @pulumi/docker. Tokens and renames follow pulumi-docker's provider/resources.go (v4.11.0 to
// v4.11.2 differ only in the `host` default, below); its native docker:index/image:Image (buildx)
// resource is not provided.
package main

import (
	"context"
	"runtime"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"

	"tikvcvm.local/engine/providers/bridge"
)

// version is the @pulumi/docker version this plugin answers for; engine.sh sets it.
var version = "0.0.0-dev"

func main() {
	bridge.Run(bridge.SDKv2, func(meta *tfbridge.MetadataInfo) tfbridge.ProviderInfo {
		info := tfbridge.ProviderInfo{
			P:            shimv2.NewProvider(shim.NewProvider(version)),
			Name:         "docker",
			Version:      version,
			MetadataInfo: meta,
			Config: map[string]*tfbridge.SchemaInfo{
				// DOCKER_HOST, else the platform's socket: pulumi-docker v4.11.1 (#1623) moved this
				// default into the bridge when it dropped patch 0002 (v4.11.0: DOCKER_HOST only).
				"host": {Default: &tfbridge.DefaultInfo{
					EnvVars: []string{"DOCKER_HOST"},
					ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (interface{}, error) {
						if runtime.GOOS == "windows" {
							return "npipe:////./pipe/docker_engine", nil
						}
						return "unix:///var/run/docker.sock", nil
					},
				}},
				"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
			},
			Resources: map[string]*tfbridge.ResourceInfo{
				"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
				"docker_container": {
					Tok: "docker:index/container:Container",
					// pulumi-docker replaces containers delete-first: names and ports are fixed.
					DeleteBeforeReplace: true,
					Fields: map[string]*tfbridge.SchemaInfo{
						"command":           {Name: "command"},
						"networks_advanced": {Name: "networksAdvanced"},
					},
				},
				"docker_image": {
					Tok:    "docker:index/remoteImage:RemoteImage",
					Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
				},
			},
			DataSources: map[string]*tfbridge.DataSourceInfo{
				"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
			},
		}
		info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
		// Names are optional and auto-generated from the resource name, as in pulumi-docker.
		info.SetAutonaming(255, "-")
		return info
	})
}

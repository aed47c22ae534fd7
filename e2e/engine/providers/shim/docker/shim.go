// Package shim returns the upstream Terraform docker provider (SDKv2 part only: the
// plugin-framework part holds docker_compose and data sources @pulumi/docker 4.11 does not have).
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider builds the provider; version is what it reports to Terraform-style user agents.
func NewProvider(version string) *schema.Provider { return provider.New(version)() }

// Package shim returns the upstream Terraform random provider (plugin framework).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider builds the provider.
func NewProvider() provider.Provider { return upstream.New() }

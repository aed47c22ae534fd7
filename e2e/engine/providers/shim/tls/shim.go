// Package shim returns the upstream Terraform tls provider (plugin framework).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider builds the provider.
func NewProvider() provider.Provider { return upstream.New() }

// Exposes the upstream provider's internal package to this repository's wrapper.
// Go's internal-import rule is about import paths, so a package at this sub-path of the
// upstream module may import its internal/provider.
module github.com/terraform-providers/terraform-provider-docker/shim

go 1.25

require github.com/terraform-providers/terraform-provider-docker v0.0.0-20260916201441-96d331c98ff4

// See ../docker/go.mod: a package at this sub-path may import the upstream internal/provider.
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25

require github.com/terraform-providers/terraform-provider-random v1.3.2-0.20260824155315-e1092b0cfc07

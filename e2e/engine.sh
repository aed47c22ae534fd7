#!/usr/bin/env bash
# Makes the real Pulumi engine available for the e2e tests: the `pulumi` CLI, the Node.js language
# host, the dynamic-provider host (pulumi-resource-pulumi-nodejs) and the docker, tls and random
# resource plugins at the exact versions the installed npm SDKs ask for.
#
#   eval "$(e2e/engine.sh)"      # then `pulumi up` etc. run with that engine
#
# Prints only `export` lines on stdout (progress goes to stderr); they are also saved in
# <cache>/env.sh. With a normal Pulumi install (pulumi on PATH, the three plugins at those versions
# in `pulumi plugin ls`) it builds nothing. Otherwise it builds what is missing with the Go
# toolchain from the Go module proxy, in the wrapper modules under e2e/engine/ (see
# e2e/engine/README.md), and caches the results outside the repository in
# ${TIKV_CVM_ENGINE_CACHE:-$HOME/.cache/tikv-cvm-engine}, one folder per component keyed by its
# version and a hash of its wrapper sources. Plugins are installed with `pulumi plugin install
# --file` into a PULUMI_HOME inside the cache, so nothing is downloaded at deploy time.
#
# Environment: TIKV_CVM_ENGINE_CACHE (cache folder), TIKV_CVM_ENGINE_BUILD=1 (ignore a normal
# Pulumi install and use the built engine).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
engine_src="$repo/e2e/engine"
cache=${TIKV_CVM_ENGINE_CACHE:-$HOME/.cache/tikv-cvm-engine}
plugins=(docker tls random)
# SDK features the built plugins do not provide, checked by check-schema.js (see e2e/engine/README.md).
known_gaps_docker=("docker:index/image:Image" "docker:index/network:Network.checkDuplicate")

log() { echo "engine: $*" >&2; }
die() { log "error: $*"; exit 1; }

# The plugin version each npm SDK asks the engine for: its package.json version, as the language
# host reports it (node_modules is what the engine reads, not package.json's ranges).
sdk_version() {
  local pkg="$repo/node_modules/@pulumi/$1/package.json"
  [ -f "$pkg" ] || die "$pkg is missing: run npm ci first"
  node -p "const p = require('$pkg'); (p.pulumi && p.pulumi.version) || p.version"
}

[ -f "$repo/node_modules/@pulumi/pulumi/package.json" ] || die "$repo/node_modules is missing: run npm ci first"

common_env=(
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  "PULUMI_SKIP_UPDATE_CHECK=true"
)

print_env() { # print_env <extra export lines...>
  local lines=("$@") l
  for l in "${common_env[@]}"; do lines+=("export $l"); done
  printf '%s\n' "${lines[@]}"
}

# --- A normal Pulumi install? -------------------------------------------------------------
installed_engine_ok() {
  command -v pulumi >/dev/null 2>&1 || return 1
  local have want p list
  have=$(pulumi version 2>/dev/null) || return 1
  want=$(sdk_version pulumi)
  # The CLI must be at least as new as the SDK it runs.
  [ "$(printf '%s\n%s\n' "${want#v}" "${have#v}" | sort -V | head -n1)" = "${want#v}" ] || return 1
  list=$(pulumi plugin ls --json 2>/dev/null) || return 1
  for p in "${plugins[@]}"; do
    node -e '
      const [list, name, version] = process.argv.slice(1);
      const ok = JSON.parse(list || "[]").some((x) => x.kind === "resource" && x.name === name && x.version === version);
      process.exit(ok ? 0 : 1);' "$list" "$p" "$(sdk_version "$p")" || return 1
  done
  # The language host and the dynamic-provider host ship beside a normal pulumi.
  local dir; dir=$(dirname "$(command -v pulumi)")
  for p in pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
    command -v "$p" >/dev/null 2>&1 || [ -x "$dir/$p" ] || return 1
  done
  log "using the installed engine: pulumi $have, plugins $(for p in "${plugins[@]}"; do printf '%s %s ' "$p" "$(sdk_version "$p")"; done)"
}

if [ "${TIKV_CVM_ENGINE_BUILD:-}" != 1 ] && installed_engine_ok; then
  print_env
  exit 0
fi

# --- Build what is missing ------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "no Pulumi install and no Go toolchain to build one (install Go >= 1.25)"
mkdir -p "$cache"

# Key: version + hash of the wrapper module's files (go.mod/go.sum pin every upstream version).
src_hash() { (cd "$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12; }
now() { date +%s; }

# build_into <final dir> <label> <command...>: runs the build in a temporary folder beside the
# final one and renames it into place, so an interrupted build never leaves a half cache.
build_into() {
  local final=$1 label=$2; shift 2
  if [ -d "$final" ]; then
    log "$label: cached in $final"
    return 0
  fi
  local tmp="$final.tmp.$$" start
  rm -rf "$tmp"; mkdir -p "$tmp"
  start=$(now)
  log "$label: building (this takes minutes on a cold Go cache)..."
  if ! "$@" "$tmp" >&2; then
    rm -rf "$tmp"
    die "$label: build failed"
  fi
  # Another run may have finished the same build meanwhile: keep its result.
  mv -T "$tmp" "$final" 2>/dev/null || rm -rf "$tmp"
  log "$label: built in $(( $(now) - start )) s"
}

go_build() { CGO_ENABLED=0 go build -trimpath -buildvcs=false "$@"; }

# The CLI and the language host share one wrapper module, built with the CLI's version.
cli_version=$(cd "$engine_src/cli" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
build_cli() {
  local out=$1 ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version"
  mkdir -p "$out/bin"
  (cd "$engine_src/cli" &&
    go_build -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi &&
    go_build -ldflags "$ldflags" -o "$out/bin/pulumi-language-nodejs" ./pulumi-language-nodejs)
}
cli_dir="$cache/cli-$cli_version-$(src_hash "$engine_src/cli")"
build_into "$cli_dir" "pulumi $cli_version + pulumi-language-nodejs" build_cli
bin="$cli_dir/bin"

# The dynamic-provider host is a script that @pulumi/pulumi ships; the engine looks for it
# beside pulumi. Kept in step with node_modules on every run.
if ! cmp -s "$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"; then
  install -m 0755 "$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"
fi

# Each provider plugin: its binary, then the schema it generates from itself (tfgen), checked
# against the npm SDK before the plugin is used.
build_provider() { # build_provider <name> <version> <out>
  local name=$1 version=$2 out=$3
  (cd "$engine_src/providers" &&
    go_build -tags no_compose -ldflags "-X main.version=$version" -o "$out/pulumi-resource-$name" "./$name") &&
    "$out/pulumi-resource-$name" -gen-schema "$out"
}

export PULUMI_HOME="$cache/pulumi-home"
export PATH="$bin:$PATH"
for e in "${common_env[@]}"; do export "${e?}"; done
providers_hash=$(src_hash "$engine_src/providers")
for p in "${plugins[@]}"; do
  version=$(sdk_version "$p")
  dir="$cache/$p-$version-$providers_hash"
  build_into "$dir" "pulumi-resource-$p $version" build_provider "$p" "$version"
  gaps=()
  if [ "$p" = docker ]; then gaps=("${known_gaps_docker[@]}"); fi
  node "$engine_src/check-schema.js" "$repo/node_modules/@pulumi/$p" "$dir/schema.json" "${gaps[@]}" ||
    die "pulumi-resource-$p does not match @pulumi/$p $version"
  # Install (from the folder: binary + schema.json + bridge-metadata.json) unless this very
  # build is already the installed one.
  marker="$PULUMI_HOME/plugins/.tikv-cvm-$p-$version"
  if [ "$(cat "$marker" 2>/dev/null)" != "$dir" ]; then
    pulumi plugin install resource "$p" "$version" --file "$dir" --reinstall >&2
    # One copy on disk: the cached binary becomes a hard link to the installed one.
    ln -f "$PULUMI_HOME/plugins/resource-$p-v$version/pulumi-resource-$p" "$dir/pulumi-resource-$p" 2>/dev/null || true
    echo "$dir" >"$marker"
  fi
done

exports=("export PATH=\"$bin:\$PATH\"" "export PULUMI_HOME=\"$PULUMI_HOME\"")
print_env "${exports[@]}" | tee "$cache/env.sh"
log "engine ready: pulumi $(pulumi version); eval the lines above or: source $cache/env.sh"

#!/usr/bin/env bash
# Proves the engine e2e/engine.sh provides works end to end: starts a throwaway dockerd on a
# unix socket, then runs the probe program (index.ts) through `pulumi up`, a no-change
# `pulumi preview`, a second `up` (the StackReference now reads the first one's outputs) and
# `pulumi destroy`, checking what each left behind. Exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
eval "$("$repo/e2e/engine.sh")"

work=$(mktemp -d /tmp/tikv-cvm-probe.XXXXXX)
dockerd_pid=""
cleanup() {
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "probe: FAIL: $*" >&2; exit 1; }
step() { # step <label> <command...>: runs and prints its wall time
  local label=$1 start; shift
  start=$(date +%s)
  "$@" || fail "$label"
  echo "probe: $label: $(( $(date +%s) - start )) s" >&2
}

# A Docker engine of our own, reachable only through its socket in $work.
sock="$work/docker.sock"
setsid dockerd --host "unix://$sock" --data-root "$work/docker" --exec-root "$work/exec" \
  --pidfile "$work/docker.pid" --storage-driver vfs --iptables=false --bridge none \
  >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 50); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
docker -H "unix://$sock" version >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; fail "dockerd did not start"; }

# The program runs from a copy, with the repository's node_modules (linked, so the language
# host's plugin discovery walks them as it would in a project).
cp "$here/Pulumi.yaml" "$here/index.ts" "$here/package.json" "$work/"
ln -s "$repo/node_modules" "$work/node_modules"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_CONFIG_PASSPHRASE=probe
mkdir -p "$work/state"
cd "$work"
pulumi stack init probe >/dev/null
pulumi config set dockerHost "unix://$sock"

# The language host reports the plugins node_modules asks for (GetRequiredPackages).
about=$(pulumi about --json)
node -e '
  const about = JSON.parse(process.argv[1]);
  const want = ["docker", "tls", "random"].map((n) => [n, require(process.argv[2] + "/node_modules/@pulumi/" + n + "/package.json").version]);
  const missing = want.filter(([n, v]) => !about.plugins.some((p) => p.name === n && p.version === v));
  if (missing.length) { console.error("plugins not reported:", JSON.stringify(missing)); process.exit(1); }' "$about" "$repo" ||
  fail "pulumi about does not list the SDKs' plugins"

step "up" pulumi up --yes --skip-preview --non-interactive
out=$(pulumi stack output --json --show-secrets)
node -e '
  const o = JSON.parse(process.argv[1]);
  const checks = {
    certPem: /^-----BEGIN CERTIFICATE-----/.test(o.certPem),
    keyIsSecret: o.keyIsSecret === true,
    passwordLength: o.passwordLength === 24,
    volumeName: o.volumeName === "engine-probe-volume",
    echoed: o.echoed === "DYNAMIC",
    previousCertPem: o.previousCertPem === undefined,
  };
  const bad = Object.entries(checks).filter(([, ok]) => !ok).map(([k]) => k);
  if (bad.length) { console.error("unexpected outputs:", bad.join(", "), JSON.stringify(o)); process.exit(1); }' "$out" ||
  fail "outputs after up"
openssl x509 -noout -subject <<<"$(node -p 'JSON.parse(process.argv[1]).certPem' "$out")" | grep -q engine-probe ||
  fail "certPem is not the probe's certificate"
state="$work/state/.pulumi/stacks/engine-probe/probe.json"
grep -q '"privateKeyPem"' "$state" || fail "no privateKeyPem in the state"
if grep -q 'PRIVATE KEY' "$state"; then fail "a private key is in clear in the state"; fi
docker -H "unix://$sock" volume inspect engine-probe-volume >/dev/null || fail "the volume is not in dockerd"

step "preview --expect-no-changes" pulumi preview --expect-no-changes --non-interactive
# The StackReference reads this stack's previous outputs: the only change is that output.
step "second up" pulumi up --yes --skip-preview --non-interactive
[ "$(pulumi stack output previousCertPem)" = "$(pulumi stack output certPem)" ] ||
  fail "the StackReference did not read the previous deployment"
# Refresh reads every resource back through its provider (the StackReference alone changes:
# it records the second up's outputs); nothing may differ from the program afterwards.
step "refresh" pulumi refresh --yes --non-interactive
step "preview after refresh" pulumi preview --expect-no-changes --non-interactive
step "destroy" pulumi destroy --yes --non-interactive
if docker -H "unix://$sock" volume inspect engine-probe-volume >/dev/null 2>&1; then fail "the volume survived destroy"; fi
echo "probe: OK" >&2

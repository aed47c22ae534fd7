// How a PD member starts, decided inside its container from what its data volume holds, as
// TiUP's scale-out and the TiDB Operator's start script do. Pure.
import { TLS_FILES } from "./clusterConfig";
import { ClusterPlan, HostPlan, PORTS } from "./topology";

/** Where the script is uploaded in the PD container; its entrypoint runs it with sh. */
export const PD_START_PATH = "/etc/pd/tikv-cvm-start.sh";

/**
 * Runs pd-server with the flags it is given ("$@") plus at most one of --initial-cluster and
 * --join (tikv/pd server/config/config.go refuses both):
 *
 * - the volume holds a member (`<data>/member` is not empty, PD's own test in server/join/join.go
 *   isDataExist): restart as itself; etcd reads its membership from its data;
 * - PD left a `join` file (it joined but has no member data yet): --join, which PD resolves
 *   from that file;
 * - otherwise ask the other members (PD_JOIN, client URLs) for the member list:
 *   - one lists this member by name: its data is lost; remove that identity through PD's API
 *     (DELETE /pd/api/v1/members/name/{name}), then join afresh (join.go refuses a member whose
 *     name is still listed: "missing data or join a duplicated pd");
 *   - one lists this member's peer URL without a name: it belongs to the initial cluster and
 *     has not started yet: --initial-cluster;
 *   - else: --join (join.go adds it with MemberAdd);
 * - nobody answers: bootstrap with --initial-cluster, but only a member of the cluster's first
 *   deployment (PD_INITIAL_CLUSTER set) after several tries; any other member keeps asking.
 *
 * Needs GNU Wget (client certificates) and jq, which pingcap/pd images carry
 * (PingCAP-QE/artifacts dockerfiles/bases/pd-base/Dockerfile: dnf install wget jq).
 */
export const PD_START_SCRIPT = `#!/bin/sh
# tikv-cvm: starts pd-server as a new member, a joining member or itself. See lib/pdStart.ts.
set -eu
say() { echo "tikv-cvm pd-start: $*" >&2; }
PD_SERVER="\${PD_SERVER:-/pd-server}"
wget --version 2>/dev/null | grep -q "GNU Wget" || { say "this image has no GNU Wget (needed for client certificates); use a pingcap/pd image from v7.1.0 on"; exit 1; }
command -v jq >/dev/null 2>&1 || { say "this image has no jq; use a pingcap/pd image from v7.1.0 on"; exit 1; }

if [ -n "$(ls -A "$PD_DATA_DIR/member" 2>/dev/null)" ]; then
  say "member data found: restarting as $PD_NAME"
  exec "$PD_SERVER" "$@"
fi
if [ -s "$PD_DATA_DIR/join" ] && [ -n "$PD_JOIN" ]; then
  say "join file found: resuming the join"
  exec "$PD_SERVER" "$@" --join="$PD_JOIN"
fi

tls=""
if [ -n "\${PD_CA:-}" ]; then tls="--ca-certificate=$PD_CA --certificate=$PD_CERT --private-key=$PD_KEY"; fi
members() {
  # shellcheck disable=SC2086 # tls holds separate options
  wget -q -O - -T 3 --tries=1 $tls "$1/pd/api/v1/members"
}
tries=0
while :; do
  for url in $(echo "$PD_JOIN" | tr ',' ' '); do
    list=$(members "$url") || continue
    if echo "$list" | jq -e --arg n "$PD_NAME" '.members[]? | select(.name == $n)' >/dev/null; then
      say "$PD_NAME is still a member but its data is gone: removing that identity through $url"
      # shellcheck disable=SC2086
      wget -q -O /dev/null -T 10 --tries=1 --method=DELETE $tls "$url/pd/api/v1/members/name/$PD_NAME" || say "removal failed; retrying"
      sleep 2
      continue 2
    fi
    if echo "$list" | jq -e --arg u "$PD_PEER_URL" '.members[]? | select((.name // "") == "" and ((.peer_urls // []) | index($u)))' >/dev/null; then
      [ -n "$PD_INITIAL_CLUSTER" ] || { say "listed as an unstarted member but not part of the initial cluster"; exit 1; }
      say "starting as a member of the initial cluster"
      # shellcheck disable=SC2093 # exec ends the loop on purpose
      exec "$PD_SERVER" "$@" --initial-cluster="$PD_INITIAL_CLUSTER"
    fi
    say "joining the running cluster through $PD_JOIN"
    # shellcheck disable=SC2093
    exec "$PD_SERVER" "$@" --join="$PD_JOIN"
  done
  tries=$((tries + 1))
  if [ -n "$PD_INITIAL_CLUSTER" ] && [ "$tries" -ge "\${PD_BOOTSTRAP_TRIES:-5}" ]; then
    say "no member answers: bootstrapping $PD_INITIAL_CLUSTER"
    # shellcheck disable=SC2093
    exec "$PD_SERVER" "$@" --initial-cluster="$PD_INITIAL_CLUSTER"
  fi
  say "no member answers yet; asking again"
  sleep "\${PD_RETRY_SECONDS:-2}"
done
`;

/**
 * The script's environment for one member. `initialCluster` is the cluster's first deployment's
 * --initial-cluster value; members outside it never bootstrap. PD_JOIN lists the other members
 * of this plan by client URL.
 */
export function pdStartEnv(host: HostPlan, plan: ClusterPlan, initialCluster: string, dataDir: string): string[] {
  if (!host.pdName) throw new Error(`${host.name} runs no PD member`);
  const s = plan.scheme;
  const others = plan.hosts
    .filter((h) => h.pdName !== undefined && h.pdName !== host.pdName)
    .map((h) => `${s}://${h.pdHost}:${PORTS.pdClient}`);
  const inInitial = initialCluster.split(",").some((entry) => entry.split("=")[0] === host.pdName);
  return [
    `PD_NAME=${host.pdName}`,
    `PD_DATA_DIR=${dataDir}`,
    `PD_PEER_URL=${s}://${host.pdHost}:${PORTS.pdPeer}`,
    `PD_INITIAL_CLUSTER=${inInitial ? initialCluster : ""}`,
    `PD_JOIN=${others.join(",")}`,
    ...(s === "https" ? [`PD_CA=${TLS_FILES.ca}`, `PD_CERT=${TLS_FILES.cert}`, `PD_KEY=${TLS_FILES.key}`] : []),
  ];
}

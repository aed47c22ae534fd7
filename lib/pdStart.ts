// How a PD member starts, decided inside its container from what its data volume holds, as
// TiUP's scale-out and the TiDB Operator's start script do. Pure.
import { TLS_FILES } from "./clusterConfig";
import { ClusterPlan, HostPlan, PORTS } from "./topology";

/** Where the script is uploaded in the PD container; its entrypoint runs it with sh. */
export const PD_START_PATH = "/etc/pd/tikv-cvm-start.sh";

/**
 * The file whose presence on a member's data volume lets it bootstrap the cluster. Written only
 * by the cluster's first deployment, before any PD member starts (components/tikvCluster.ts, a
 * one-shot helper container), and removed by the script as soon as the member has data: a volume
 * wiped later has none, so a member that finds no peer never bootstraps again.
 */
export const PD_BOOTSTRAP_PERMIT = "tikv-cvm-bootstrap-permit";

/**
 * Runs pd-server with the flags it is given ("$@") plus at most one of --initial-cluster and
 * --join (tikv/pd server/config/config.go refuses both). PD_JOIN lists client URLs of other
 * members to ask (see pdStartEnv); the --join value is taken from the member list they answer.
 *
 * - the volume holds a member (`<data>/member` is not empty, PD's own test in server/join/join.go
 *   isDataExist): restart as itself; etcd reads its membership from its data. Except when a
 *   member answers and lists this member neither by name nor by peer URL: it was removed (a
 *   pdCount scale-in, or pd-ctl member delete) and etcd refuses its old ID. It then waits, never
 *   rejoining by itself: a member removed by a scale-in restarts (etcd stops it) while its
 *   container waits to be deleted, and adding itself back would leave the cluster one more
 *   member it cannot count on. A deployment that declares it again moves that data aside first
 *   (components/retiredMemberData.ts), and it joins afresh;
 * - PD left a `join` file (it joined but has no member data yet): --join, which PD resolves
 *   from that file;
 * - otherwise ask the other members for the member list:
 *   - one lists this member by name: its data is lost; remove that identity through PD's API
 *     (DELETE /pd/api/v1/members/name/{name}), then join afresh (join.go refuses a member whose
 *     name is still listed: "missing data or join a duplicated pd");
 *   - one lists this member's peer URL without a name: it belongs to the initial cluster and
 *     has not started yet: --initial-cluster;
 *   - else: --join (join.go adds it with MemberAdd);
 * - nobody answers: bootstrap with --initial-cluster only with the bootstrap permit on the volume
 *   (the cluster's first deployment) and after several tries. Without it, keep asking: the
 *   cluster exists, and a member that bootstrapped it again would come back with its old member
 *   ID (PD's initial-cluster-token defaults to "pd-cluster", server/config/config.go) having
 *   forgotten its votes, and two such members would make a quorum of their own.
 *
 * Needs GNU Wget (client certificates) and jq, which pingcap/pd images carry
 * (PingCAP-QE/artifacts dockerfiles/bases/pd-base/Dockerfile: dnf install wget jq).
 */
export const PD_START_SCRIPT = `#!/bin/sh
# tikv-cvm: starts pd-server as a new member, a joining member or itself. See lib/pdStart.ts.
set -eu
say() { echo "tikv-cvm pd-start: $*" >&2; }
PD_SERVER="\${PD_SERVER:-/pd-server}"
PERMIT="$PD_DATA_DIR/${PD_BOOTSTRAP_PERMIT}"
wget --version 2>/dev/null | grep -q "GNU Wget" || { say "this image has no GNU Wget (needed for client certificates); use a pingcap/pd image from v7.1.0 on"; exit 1; }
command -v jq >/dev/null 2>&1 || { say "this image has no jq; use a pingcap/pd image from v7.1.0 on"; exit 1; }

tls=""
if [ -n "\${PD_CA:-}" ]; then tls="--ca-certificate=$PD_CA --certificate=$PD_CERT --private-key=$PD_KEY"; fi
members() {
  # shellcheck disable=SC2086 # tls holds separate options
  wget -q -O - -T 3 --tries=1 $tls "$1/pd/api/v1/members"
}
named() { echo "$1" | jq -e --arg n "$PD_NAME" '.members[]? | select(.name == $n)' >/dev/null; }
has_peer() { echo "$1" | jq -e --arg u "$PD_PEER_URL" '.members[]? | select((.peer_urls // []) | index($u))' >/dev/null; }
# Client URLs of the members that have started: where --join finds the cluster today.
started() { echo "$1" | jq -r '[.members[]? | select((.name // "") != "") | .client_urls[]?] | join(",")'; }

if [ -n "$(ls -A "$PD_DATA_DIR/member" 2>/dev/null)" ]; then
  rm -f "$PERMIT"
  removed=""
  for url in $(echo "$PD_JOIN" | tr ',' ' '); do
    list=$(members "$url") || continue
    if ! named "$list" && ! has_peer "$list"; then removed="$url"; fi
    break
  done
  if [ -z "$removed" ]; then
    say "member data found: restarting as $PD_NAME"
    exec "$PD_SERVER" "$@"
  fi
  say "$removed no longer lists $PD_NAME: this member was removed from the cluster; not rejoining by itself (its data stays). A pulumi up that declares it moves this data aside and adds it back"
  # shellcheck disable=SC2093 # exec: the container's stop signal reaches the sleep
  exec sleep 2147483647
fi
if [ -s "$PD_DATA_DIR/join" ] && [ -n "$PD_JOIN" ]; then
  rm -f "$PERMIT"
  say "join file found: resuming the join"
  exec "$PD_SERVER" "$@" --join="$PD_JOIN"
fi

tries=0
while :; do
  for url in $(echo "$PD_JOIN" | tr ',' ' '); do
    list=$(members "$url") || continue
    if named "$list"; then
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
    join=$(started "$list")
    rm -f "$PERMIT"
    say "joining the running cluster through \${join:-$url}"
    # shellcheck disable=SC2093
    exec "$PD_SERVER" "$@" --join="\${join:-$url}"
  done
  tries=$((tries + 1))
  if [ "$tries" -ge "\${PD_BOOTSTRAP_TRIES:-5}" ]; then
    if [ -n "$PD_INITIAL_CLUSTER" ] && [ -e "$PERMIT" ]; then
      say "no member answers: bootstrapping $PD_INITIAL_CLUSTER (first deployment)"
      # shellcheck disable=SC2093
      exec "$PD_SERVER" "$@" --initial-cluster="$PD_INITIAL_CLUSTER"
    fi
    [ $((tries % \${PD_BOOTSTRAP_TRIES:-5})) -ne 0 ] || say "no member answers, and this cluster was bootstrapped before (no bootstrap permit on this volume): waiting to join it, never bootstrapping another; start the other PD members (docker start pdN on their hosts)"
  fi
  say "no member answers yet; asking again"
  sleep "\${PD_RETRY_SECONDS:-2}"
done
`;

/** What the helper container of a first deployment runs to leave the permit on a member's volume. */
export function bootstrapPermitCommand(dataDir: string): string[] {
  return ["-c", `touch ${dataDir}/${PD_BOOTSTRAP_PERMIT}`];
}

/** A member's client URL from its peer URL in --initial-cluster form (same host, client port). */
function clientUrlOf(peerUrl: string): string {
  const url = new URL(peerUrl);
  url.port = String(PORTS.pdClient);
  return url.origin;
}

/**
 * The script's environment for one member. `initialCluster` is the cluster's first deployment's
 * --initial-cluster value; members outside it never bootstrap. PD_JOIN lists, by client URL,
 * the other members of the initial cluster and the members on hosts before this one: values
 * that never change once the member exists, so adding or removing PD members changes no other
 * member's container (a changed environment would replace it). Members listed there that are
 * gone are skipped by the script; it joins through the members that answer.
 */
export function pdStartEnv(host: HostPlan, plan: ClusterPlan, initialCluster: string, dataDir: string): string[] {
  if (!host.pdName) throw new Error(`${host.name} runs no PD member`);
  const s = plan.scheme;
  const initial = initialCluster
    .split(",")
    .filter((entry) => entry.includes("="))
    .map((entry) => {
      const [name, ...url] = entry.split("=");
      return { name, index: Number(name.replace(/\D/g, "")), url: clientUrlOf(url.join("=")) };
    });
  const earlier = plan.hosts
    .filter((h) => h.pdName !== undefined && h.index < host.index)
    .map((h) => ({ name: h.pdName!, index: h.index, url: `${s}://${h.pdHost}:${PORTS.pdClient}` }));
  const others = new Map<string, { index: number; url: string }>();
  for (const m of [...initial, ...earlier]) if (m.name !== host.pdName && !others.has(m.name)) others.set(m.name, m);
  const inInitial = initial.some((m) => m.name === host.pdName);
  return [
    `PD_NAME=${host.pdName}`,
    `PD_DATA_DIR=${dataDir}`,
    `PD_PEER_URL=${s}://${host.pdHost}:${PORTS.pdPeer}`,
    `PD_INITIAL_CLUSTER=${inInitial ? initialCluster : ""}`,
    `PD_JOIN=${[...others.values()]
      .sort((a, b) => a.index - b.index)
      .map((m) => m.url)
      .join(",")}`,
    ...(s === "https" ? [`PD_CA=${TLS_FILES.ca}`, `PD_CERT=${TLS_FILES.cert}`, `PD_KEY=${TLS_FILES.key}`] : []),
  ];
}

// What every container may do, and how its key files are laid out. Pure.
//
// Decided from what each process needs (CIS Docker Benchmark 5.3 "restrict Linux kernel
// capabilities", 5.25 "restrict containers from acquiring additional privileges"):
// - PD and TiKV: the official images run as root (PingCAP-QE/artifacts recipes); they bind ports
//   above 1024 (2379, 2380, 20160, 20180) and write only /data, a volume whose files root owns,
//   and TiKV raises its own nofile soft limit only up to the hard limit Docker sets. None of that
//   takes a capability: root without CAP_DAC_OVERRIDE is bound by file modes like any user.
// - Prometheus (user nobody, prom/prometheus's Dockerfile) and Grafana (uid 472, group 0,
//   grafana/grafana's Dockerfile) bind 9090 and 3000 and write their own data directories.
// - PD's client gateway (lib/pdGateway.ts): node's images run as root; it binds 2389 and writes
//   nothing.
// So every container drops every capability and may not gain privileges through setuid binaries.
//
// Key files: the Docker provider uploads files with a tar header that names no owner
// (kreuzwerker/terraform-provider-docker v3.9.0, resource_docker_container_funcs.go) into
// CopyToContainer without CopyUIDGID, so Docker writes them as root:root. A root process (PD,
// TiKV) then reads a 0400 key it owns. A non-root process cannot own an uploaded file; it reads
// a 0440 root:root key through group 0 (Grafana's primary group already; added for Prometheus),
// and no other user in the container can.

/** Hardening shared by every container the program runs. */
export const CONTAINER_HARDENING = {
  capabilities: { drops: ["ALL"] },
  securityOpts: ["no-new-privileges:true"],
} as const;

/** Upload modes: certificates world-readable, keys readable by the owner (root) or by group 0. */
export const FILE_MODES = {
  certificate: "0444",
  /** A key read by the root process that owns it (PD, TiKV, PD's client gateway). */
  rootKey: "0400",
  /** A key read by a non-root process through group 0 (Prometheus, Grafana). */
  groupKey: "0440",
} as const;

/**
 * Most processes and threads each container may have (its pids cgroup; CIS Docker Benchmark 5.28),
 * far above what each runs (TiKV's thread pools on a few cores: hundreds) and far below what a fork
 * bomb needs to starve its host. Set through the Engine API (components/pidsLimit.ts).
 */
export const PIDS_LIMIT = { pd: 4096, tikv: 4096, prometheus: 1024, grafana: 1024, alertmanager: 512 } as const;

/** Supplementary group that lets a non-root process read a 0440 root:root key. */
export const KEY_READER_GROUP = "0";

// The cloud-config a CVM boots with: Docker with its API behind mutual TLS, and the host tuning
// TiKV asks for. Built as data and serialized by the yaml library, so quoting cannot break it.
// Format: https://cloudinit.readthedocs.io/en/22.4/reference/modules.html
import * as crypto from "crypto";
import { parse, stringify } from "yaml";
import {
  DATA_DISK_GROW_TIMER,
  DATA_DISK_GROW_UNIT,
  DATA_DISK_SCRIPT_PATH,
  DATA_DISK_UNIT,
  DOCKERD_DATA_DISK_FLAGS,
  DOCKER_DATA_DISK_SERVICE_SETTINGS,
  DOCKER_DATA_DISK_UNIT_SETTINGS,
  dataDiskGrowUnits,
  dataDiskScript,
  dataDiskUnit,
} from "./dataDisk";
import { DOCKER_TLS_DIR, renderDaemonJson } from "./dockerDaemon";

export interface HostBootArgs {
  readonly caCertPem: string;
  /** This host's Docker server certificate and key; never the CA key or the operator's key. */
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly registryMirrors: readonly string[];
  /** The host's CBS data disk, Docker's data root, and how long boot waits for it to be attached. */
  readonly dataDisk: { readonly id: string; readonly waitSeconds: number };
}

/** Tencent counts the 16 KB user-data limit after base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export const TUNING_SCRIPT_PATH = "/usr/local/sbin/tikv-host-tuning";
export const TUNING_UNIT = "tikv-host-tuning.service";
export const DOCKER_DROP_IN_PATH = "/etc/systemd/system/docker.service.d/override.conf";

interface WriteFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
  readonly owner?: string;
}

/**
 * Tencent Cloud's NTP servers for its own instances, reached over the private network ("NTP server
 * addresses", CVM docs https://www.tencentcloud.com/document/product/213/32379: time1 to
 * time5.tencentyun.com; the public ntp*.tencent.com are for machines outside Tencent Cloud).
 */
export const TENCENT_CLOUD_NTP_SERVERS = [1, 2, 3, 4, 5].map((i) => `time${i}.tencentyun.com`);

export interface CloudConfig {
  /**
   * cloud-init's ntp module (cc_ntp): installs chrony and writes its configuration with these
   * servers before the packages and runcmd, so the clock is set from the first boot; chrony's
   * Ubuntu template steps a clock that is off by more than a second (makestep 1 3).
   */
  readonly ntp: {
    readonly enabled: boolean;
    readonly ntp_client: "chrony";
    readonly servers: readonly string[];
  };
  readonly package_update: boolean;
  readonly packages: readonly string[];
  readonly write_files: readonly WriteFile[];
  readonly runcmd: readonly (readonly string[])[];
}

export function buildCloudConfig(args: HostBootArgs): CloudConfig {
  const grow = dataDiskGrowUnits(args.dataDisk.id);
  return {
    ntp: { enabled: true, ntp_client: "chrony", servers: TENCENT_CLOUD_NTP_SERVERS },
    package_update: true,
    packages: ["docker.io"],
    // write_files runs before packages, so the daemon finds its config at its first start.
    write_files: [
      // Modes as the CIS Docker Benchmark asks: CA and server certificate 0444 (3.19, 3.21), server
      // key 0400 (3.22), daemon.json 0644 (3.17), all owned by root:root.
      { path: `${DOCKER_TLS_DIR}/ca.pem`, content: args.caCertPem, permissions: "0444", owner: "root:root" },
      {
        path: SERVER_CERT_PATH,
        content: args.serverCertPem,
        permissions: "0444",
        owner: "root:root",
      },
      { path: `${DOCKER_TLS_DIR}/server-key.pem`, content: args.serverKeyPem, permissions: "0400", owner: "root:root" },
      {
        path: "/etc/docker/daemon.json",
        content: `${JSON.stringify(renderDaemonJson(args.registryMirrors), null, 2)}\n`,
        permissions: "0644",
        owner: "root:root",
      },
      { path: DOCKER_DROP_IN_PATH, content: dockerDropIn(), permissions: "0644" },
      { path: DATA_DISK_SCRIPT_PATH, content: dataDiskScript(), permissions: "0755" },
      {
        path: `/etc/systemd/system/${DATA_DISK_UNIT}`,
        content: dataDiskUnit(args.dataDisk.id, args.dataDisk.waitSeconds),
        permissions: "0644",
      },
      { path: `/etc/systemd/system/${DATA_DISK_GROW_UNIT}`, content: grow.service, permissions: "0644" },
      { path: `/etc/systemd/system/${DATA_DISK_GROW_TIMER}`, content: grow.timer, permissions: "0644" },
      { path: "/etc/sysctl.d/90-tikv.conf", content: sysctlConf(), permissions: "0644" },
      { path: "/etc/security/limits.d/90-tikv.conf", content: limitsConf(), permissions: "0644" },
      { path: TUNING_SCRIPT_PATH, content: tuningScript(), permissions: "0755" },
      { path: `/etc/systemd/system/${TUNING_UNIT}`, content: tuningUnit(), permissions: "0644" },
    ],
    runcmd: [
      ["sysctl", "--system"],
      ["systemctl", "daemon-reload"],
      // Every later boot mounts the data disk before Docker; at this first boot the package's own
      // start of Docker already ran it (docker.service wants it).
      ["systemctl", "enable", DATA_DISK_UNIT],
      // A disk enlarged under a running host (dataDiskSize) is grown online within the interval.
      ["systemctl", "enable", "--now", DATA_DISK_GROW_TIMER],
      ["systemctl", "enable", "--now", TUNING_UNIT],
      ["systemctl", "enable", "docker"],
      // The package's postinst started dockerd before the drop-in was loaded and ignored the
      // failure; this restart is the one that serves the TLS endpoint.
      ["systemctl", "restart", "docker"],
    ],
  };
}

export function renderCloudConfig(args: HostBootArgs): string {
  return `#cloud-config\n${stringify(buildCloudConfig(args), { lineWidth: 0 })}`;
}

/** Where the user data writes the host's Docker server certificate. */
export const SERVER_CERT_PATH = `${DOCKER_TLS_DIR}/server-cert.pem`;

/**
 * The NotAfter (ISO) of the Docker server certificate a CVM booted with, read from its base64 user
 * data as this module wrote it; throws naming what is missing.
 */
export function bootedServerCertValidTo(userDataBase64: string): string {
  const text = Buffer.from(userDataBase64, "base64").toString("utf8");
  const config = parse(text) as Partial<CloudConfig> | null;
  const pem = config?.write_files?.find((f) => f.path === SERVER_CERT_PATH)?.content;
  if (pem === undefined) throw new Error(`the user data writes no ${SERVER_CERT_PATH}`);
  return new Date(new crypto.X509Certificate(pem).validTo).toISOString();
}

export function encodeUserData(cloudConfig: string): string {
  const encoded = Buffer.from(cloudConfig, "utf8").toString("base64");
  if (encoded.length > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `user data is ${encoded.length} bytes after base64, over Tencent Cloud's ` +
        `${USER_DATA_LIMIT_BYTES}-byte limit`,
    );
  }
  return encoded;
}

/**
 * daemon.json sets `hosts`; Ubuntu's unit also passes `-H fd://` and dockerd refuses both. An empty
 * ExecStart= clears the packaged command before ours. --containerd keeps the system containerd. The
 * data root and engine label come from the data-disk unit (lib/dataDisk.ts), so daemon.json must not
 * set them: dockerd refuses a directive given both as a flag and in the file.
 */
function dockerDropIn(): string {
  return [
    "[Unit]",
    ...DOCKER_DATA_DISK_UNIT_SETTINGS,
    "",
    "[Service]",
    ...DOCKER_DATA_DISK_SERVICE_SETTINGS,
    "ExecStart=",
    `ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock ${DOCKERD_DATA_DISK_FLAGS}`,
    "",
  ].join("\n");
}

/**
 * TiKV checks exactly three kernel settings at start, and only warns (tikv/tikv v8.5.7
 * components/tikv_util/src/config.rs check_kernel, called from components/server/src/server.rs
 * pre_start): somaxconn >= 32768, tcp_syncookies = 0, swappiness = 0. SYN cookies stay on all the
 * same: these hosts face the internet on 2376, 2379 and 22, and SYN cookies keep a SYN flood from
 * filling the accept queues; TiKV's warning costs nothing. fs.file-max is not checked by TiKV; it
 * is here so the host can honour the containers' nofile limit (PingCAP's checklist).
 */
function sysctlConf(): string {
  return [
    "net.core.somaxconn = 32768",
    "net.ipv4.tcp_syncookies = 1",
    "vm.swappiness = 0",
    "fs.file-max = 1000000",
    "",
  ].join("\n");
}

function limitsConf(): string {
  return ["root soft nofile 1000000", "root hard nofile 1000000", ""].join("\n");
}

/** Runs at every boot: swap and transparent huge pages come back after a reboot otherwise. */
function tuningScript(): string {
  return [
    "#!/bin/sh",
    "# Host tuning for TiKV (PingCAP's deployment checklist): no swap, no transparent huge pages.",
    "set -eu",
    "swapoff -a",
    "sed -i '/\\sswap\\s/s/^\\([^#]\\)/#\\1/' /etc/fstab",
    "for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag; do",
    '  if [ -w "$f" ]; then echo never > "$f"; fi',
    "done",
    "",
  ].join("\n");
}

function tuningUnit(): string {
  return [
    "[Unit]",
    "Description=Host tuning for TiKV (swap off, transparent huge pages off)",
    "Before=docker.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${TUNING_SCRIPT_PATH}`,
    "RemainAfterExit=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

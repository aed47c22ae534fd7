// How a CVM prepares its CBS data disk before Docker starts: a script and the systemd unit that runs
// it at every boot, and the docker.service settings that put Docker's data root on the disk. Pure.
//
// Tencent Cloud exposes an elastic CBS disk inside the guest as /dev/disk/by-id/virtio-<disk id>
// (tencentyun/qcloud-documents, the CBS "use elastic cloud disks on Linux" guide recommends exactly
// that link, e.g. /dev/disk/by-id/virtio-disk-bm42ztpm, because a re-attached disk may get another
// /dev/vdX name). The disk is attached after the CVM exists, so the script waits for that link.
import { DATA_DISK_ERROR_LABEL, DATA_DISK_LABEL } from "./labels";

export const DATA_DISK_SCRIPT_PATH = "/usr/local/sbin/tikv-data-disk";
export const DATA_DISK_UNIT = "tikv-data-disk.service";
/** Where the disk is mounted; Docker's data root (volumes, images, containers) is a directory on it. */
export const DATA_DISK_MOUNT = "/var/lib/tikv-data";
export const DOCKER_DATA_ROOT = `${DATA_DISK_MOUNT}/docker`;
/** Read by docker.service (EnvironmentFile=): the data root and the engine label the script chose. */
export const DOCKER_ENV_FILE = "/run/tikv-data-disk/docker.env";
/** Filesystem label given at format time; the mount itself goes by UUID. */
export const DATA_FS_LABEL = "tikv-data";
/**
 * ext4 mount options TiUP's check asks of a TiKV data disk (pingcap/tiup
 * pkg/cluster/operation/check.go CheckPartitions: ext4 without nodelalloc fails, without noatime
 * warns). ext4 refuses to change delalloc on a remount, so a running host takes them at its next
 * boot; a CVM with new user data is a new boot.
 */
export const DATA_MOUNT_OPTIONS = "noatime,nodelalloc";
export const DATA_DISK_GROW_UNIT = "tikv-data-disk-grow.service";
export const DATA_DISK_GROW_TIMER = "tikv-data-disk-grow.timer";
/** How often a running host looks for a disk grown under it (dataDiskSize raised in place). */
export const DATA_DISK_GROW_INTERVAL_SECONDS = 30;

/** The by-id link of a CBS disk inside the guest. */
export function dataDiskLink(diskId: string): string {
  return `/dev/disk/by-id/virtio-${diskId}`;
}

/**
 * The preparation script (POSIX sh; every path can be moved by the environment, which the tests use).
 * Run again while the disk is mounted (the grow timer), it only grows the filesystem online.
 * Formats only a device on which `blkid -p` finds nothing at all; anything else it finds (another
 * filesystem, a partition table) stops it. On every failure it still hands Docker a data root: an
 * empty one in /run, labelled with the reason, so the operator's readiness check reports the reason
 * instead of timing out, and no container ever lands on the system disk.
 */
export function dataDiskScript(): string {
  return `#!/bin/sh
# Mounts this host's CBS data disk for Docker (${DATA_DISK_UNIT}, every boot); lib/dataDisk.ts.
set -eu
disk_id="\${TIKV_DATA_DISK_ID:?}"
wait_s="\${TIKV_DATA_DISK_WAIT_SECONDS:-600}"
link="\${TIKV_DATA_DISK_BY_ID:-/dev/disk/by-id}/virtio-$disk_id"
mnt="\${TIKV_DATA_DISK_MOUNT:-${DATA_DISK_MOUNT}}"
env_file="\${TIKV_DATA_DISK_ENV:-${DOCKER_ENV_FILE}}"
quarantine="\${TIKV_DATA_DISK_QUARANTINE:-/run/tikv-data-disk/no-data-disk}"

# Docker's data root and engine label, for docker.service (EnvironmentFile=).
docker_env() {
  mkdir -p "$(dirname "$env_file")"
  printf 'TIKV_DOCKER_DATA_ROOT=%s\\nTIKV_DOCKER_LABEL=%s\\n' "$1" "$2" > "$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

fail() {
  echo "tikv-data-disk: ERROR: $*" >&2
  mkdir -p "$quarantine"
  docker_env "$quarantine" "${DATA_DISK_ERROR_LABEL}=$*"
  exit 1
}

# The filesystem's size in bytes, from its superblock.
fs_bytes() {
  dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block count/ { c = $2 } /^Block size/ { b = $2 } END { printf "%.0f", c * b }'
}

if mountpoint -q "$mnt"; then
  # ${DATA_DISK_GROW_TIMER}: an enlarged disk is grown online.
  dev=$(readlink -f "$link")
  if [ "$(blockdev --getsize64 "$dev")" -gt "$(fs_bytes "$dev")" ]; then
    echo "tikv-data-disk: growing $dev online"
    resize2fs "$dev" || echo "tikv-data-disk: online resize2fs $dev failed; it grows at the next boot" >&2
  fi
else
  waited=0
  until [ -e "$link" ]; do
    [ "$waited" -lt "$wait_s" ] || fail "data disk $disk_id did not appear at $link within $wait_s s; attach it, then: systemctl restart ${DATA_DISK_UNIT} docker"
    sleep 2
    waited=$((waited + 2))
  done
  dev=$(readlink -f "$link")
  # -p probes the device itself, not a cache; status 2: nothing at all on it.
  status=0
  found=$(blkid -p -o export "$dev") || status=$?
  if [ "$status" -eq 2 ]; then
    echo "tikv-data-disk: $dev ($disk_id) is blank: formatting it"
    mkfs.ext4 -q -L ${DATA_FS_LABEL} -m 0 "$dev"
    found=$(blkid -p -o export "$dev")
  elif [ "$status" -ne 0 ]; then
    fail "blkid failed on $dev ($disk_id), status $status"
  fi
  uuid=$(printf '%s\\n' "$found" | sed -n 's/^UUID=//p')
  if ! printf '%s\\n' "$found" | grep -qx 'TYPE=ext4' || [ -z "$uuid" ]; then
    fail "$dev ($disk_id) holds no ext4 filesystem but: $(printf '%s' "$found" | tr '\\n' ' '); left untouched"
  fi
  # A disk grown in place (dataDiskSize) is filled before it is mounted.
  if [ "$(blockdev --getsize64 "$dev")" -gt "$(fs_bytes "$dev")" ]; then
    echo "tikv-data-disk: growing the filesystem on $dev ($disk_id) to the disk"
    e2fsck -f -p "$dev" >/dev/null || fail "e2fsck found damage on $dev ($disk_id) it could not repair; not using it"
    resize2fs "$dev" >/dev/null 2>&1 || echo "tikv-data-disk: resize2fs $dev failed; the filesystem keeps its size" >&2
  fi
  mkdir -p "$mnt"
  mount -o ${DATA_MOUNT_OPTIONS} UUID="$uuid" "$mnt"
  if [ "$(readlink -f "$(findmnt -n -o SOURCE --mountpoint "$mnt")")" != "$dev" ]; then
    umount "$mnt"
    fail "another disk has UUID $uuid too; not using either"
  fi
  echo "tikv-data-disk: mounted $dev ($disk_id, UUID $uuid) at $mnt"
fi
mkdir -p "$mnt/docker"
docker_env "$mnt/docker" "${DATA_DISK_LABEL}=$disk_id"
`;
}

/**
 * The script again, on a running host, by a timer: a disk enlarged under it (dataDiskSize raised in
 * place; virtio-blk reports the new capacity to the guest by itself) is grown online, mounted.
 */
export function dataDiskGrowUnits(diskId: string): { service: string; timer: string } {
  return {
    service: [
      "[Unit]",
      `After=${DATA_DISK_UNIT}`,
      "[Service]",
      "Type=oneshot",
      `Environment=TIKV_DATA_DISK_ID=${diskId}`,
      `ExecStart=${DATA_DISK_SCRIPT_PATH}`,
      "",
    ].join("\n"),
    timer: [
      "[Timer]",
      `OnBootSec=${DATA_DISK_GROW_INTERVAL_SECONDS}`,
      `OnUnitActiveSec=${DATA_DISK_GROW_INTERVAL_SECONDS}`,
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

/**
 * Runs the script at every boot, before Docker. `waitSeconds` bounds the wait for the disk: the
 * attachment normally lands within seconds of the CVM's creation, long before Docker is installed.
 */
export function dataDiskUnit(diskId: string, waitSeconds: number): string {
  return [
    "[Unit]",
    `Description=Data disk ${diskId} for Docker: wait for it, format it if blank, mount it by UUID`,
    "After=local-fs.target",
    "Before=docker.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `Environment=TIKV_DATA_DISK_ID=${diskId}`,
    `Environment=TIKV_DATA_DISK_WAIT_SECONDS=${waitSeconds}`,
    `ExecStart=${DATA_DISK_SCRIPT_PATH}`,
    // mkfs of a blank disk with lazy inode tables takes seconds; the wait is the long part.
    `TimeoutStartSec=${waitSeconds + 120}`,
    "StandardOutput=journal+console",
    "StandardError=journal+console",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * docker.service settings (a drop-in): after the disk unit, with the data root and engine label it
 * chose. `Wants=` rather than `Requires=`: when the disk is missing Docker still starts, on the empty
 * quarantine root, so the error reaches the readiness check; with no EnvironmentFile at all (the
 * script never ran) Docker does not start. `${VAR}` keeps a value with spaces as one argument.
 */
export const DOCKER_DATA_DISK_UNIT_SETTINGS = [`Wants=${DATA_DISK_UNIT}`, `After=${DATA_DISK_UNIT}`] as const;
export const DOCKER_DATA_DISK_SERVICE_SETTINGS = [`EnvironmentFile=${DOCKER_ENV_FILE}`] as const;
export const DOCKERD_DATA_DISK_FLAGS = "--data-root=${TIKV_DOCKER_DATA_ROOT} --label=${TIKV_DOCKER_LABEL}";

// What the last deployment of this stack applied (read back from its own outputs), and the
// changes a running cluster cannot take in place. Pure: index.ts reads the outputs, this judges.
import { CaRotation, checkCaTransition } from "./certificates";
import { DeployedHost } from "./rolloutPlan";
import { zoneOfHost } from "./placement";
import { ConfigProblem, PROJECT, Settings } from "./settings";
import { ClusterPlan } from "./topology";

/** The `deployment` stack output: what the next deployment must know about this one. */
export interface DeploymentRecord {
  readonly mode: string;
  readonly tikvVersion: string;
  readonly clusterTls: boolean;
  readonly nodeCount: number;
  readonly pdCount: number;
  /** The --initial-cluster value the cluster was bootstrapped with; kept for its whole life. */
  readonly pdInitialCluster: string;
  /** Each host's address PD and TiKV advertise, in host order. */
  readonly hostAddresses: readonly string[];
  /** Mode cvm only. */
  readonly cvm?: {
    /** The first zone; the only one for a stack deployed before availabilityZones. */
    readonly availabilityZone: string;
    /** The zones hosts were spread over (lib/placement.ts zoneOfHost); absent before availabilityZones. */
    readonly availabilityZones?: readonly string[];
    /** Absent before placement groups: no CVM is in one. */
    readonly placementGroupType?: string;
    readonly vpcCidr: string;
    readonly subnetCidr: string;
    /** Empty when the image is looked up. */
    readonly imageId: string;
    readonly systemDiskType: string;
    readonly systemDiskSize: number;
    readonly tencentcloudRoute: string;
    /** Absent for a stack deployed before data disks: its data is on the system disks. */
    readonly dataDisk?: { readonly sizeGB: number; readonly encrypt: boolean };
  };
  /** The CA step deployed (lib/certificates.ts); absent before CA rotation existed, i.e. generation 1. */
  readonly ca?: CaRotation;
}

/** The last deployment as far as its outputs tell; `record` is absent for a stack never deployed. */
export interface LastDeployment {
  /** Members (pd1.., tikv1..) that existed after the last deployment, in rollout order. */
  readonly members: readonly string[];
  /** TiKV store addresses (host:port) in host order, from the `tikvStores` output. */
  readonly storeAddresses: readonly string[];
  readonly record?: DeploymentRecord;
  /** Mode cvm: each CVM as deployed, by host name (the `hostRollout` output). */
  readonly hosts?: Readonly<Record<string, DeployedHost>>;
}

export function deploymentRecord(settings: Settings, plan: ClusterPlan, pdInitialCluster: string): DeploymentRecord {
  return {
    mode: settings.mode,
    tikvVersion: settings.tikvVersion,
    clusterTls: settings.clusterTls,
    nodeCount: settings.nodeCount,
    pdCount: settings.pdCount,
    pdInitialCluster,
    hostAddresses: plan.hosts.map((h) => h.tikvHost),
    ...(settings.mode === "cvm"
      ? {
          cvm: {
            availabilityZone: settings.cvm.availabilityZones[0],
            availabilityZones: settings.cvm.availabilityZones,
            placementGroupType: settings.cvm.placementGroupType,
            vpcCidr: settings.cvm.vpcCidr,
            subnetCidr: settings.cvm.subnetCidr,
            imageId: settings.cvm.imageId ?? "",
            systemDiskType: settings.cvm.systemDiskType,
            systemDiskSize: settings.cvm.systemDiskSize,
            tencentcloudRoute: settings.cvm.tencentcloudRoute,
            dataDisk: { sizeGB: settings.cvm.dataDisk.sizeGB, encrypt: settings.cvm.dataDisk.encrypt },
          },
        }
      : {}),
    ca: settings.ca,
  };
}

/** Reads the last deployment from the stack's outputs, as the stack reference returns them. */
export function readLastDeployment(outputs: {
  rolloutOrder?: unknown;
  tikvStores?: unknown;
  deployment?: unknown;
  hostRollout?: unknown;
}): LastDeployment {
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const members = strings(outputs.rolloutOrder);
  const storeAddresses = strings(outputs.tikvStores);
  const raw = outputs.deployment;
  const record =
    typeof raw === "object" && raw !== null && typeof (raw as DeploymentRecord).pdInitialCluster === "string"
      ? (raw as DeploymentRecord)
      : undefined;
  const hosts =
    typeof outputs.hostRollout === "object" && outputs.hostRollout !== null
      ? (outputs.hostRollout as Record<string, DeployedHost>)
      : undefined;
  return { members, storeAddresses, record, hosts };
}

/**
 * The --initial-cluster value for this deployment: kept from the cluster's first deployment; a
 * stack deployed before it was recorded bootstrapped every PD member it had, all listed then.
 */
export function pdInitialCluster(last: LastDeployment, plan: ClusterPlan): string {
  if (last.record) return last.record.pdInitialCluster;
  const deployedPd = last.members.filter((m) => m.startsWith("pd"));
  if (deployedPd.length === 0) return plan.initialCluster;
  return plan.initialCluster
    .split(",")
    .filter((entry) => deployedPd.includes(entry.split("=")[0]))
    .join(",");
}

/** Members that the last deployment had and this one drops, highest first: the order they leave in. */
export function retiringMembers(last: LastDeployment, plan: ClusterPlan): { pd: string[]; tikv: string[] } {
  const kept = new Set(plan.hosts.flatMap((h) => [h.tikvName, ...(h.pdName ? [h.pdName] : [])]));
  const gone = last.members.filter((m) => !kept.has(m));
  const byIndexDesc = (a: string, b: string) => Number(b.replace(/\D/g, "")) - Number(a.replace(/\D/g, ""));
  return {
    pd: gone.filter((m) => m.startsWith("pd")).sort(byIndexDesc),
    tikv: gone.filter((m) => m.startsWith("tikv")).sort(byIndexDesc),
  };
}

function release(version: string): [number, number, number] {
  const [major, min, patch] = version.replace(/^v/, "").split(".").map(Number);
  return [major, min, patch];
}

/**
 * Changes the running cluster cannot take in place, each naming its key and the safe way.
 * Nothing is refused for a stack with no recorded deployment.
 */
export function refusedChanges(settings: Settings, plan: ClusterPlan, last: LastDeployment): ConfigProblem[] {
  const was = last.record;
  const problems: ConfigProblem[] = [];
  const refuse = (key: string, message: string) =>
    problems.push({ key: key.includes(":") ? key : `${PROJECT}:${key}`, message });
  const beforeDataDisks = () =>
    refuse(
      "dataDiskSize",
      "this stack was deployed by a version without data disks: its PD and " +
        "TiKV data live on the CVMs' system disks, and this version replaces every CVM. Move the data into a new stack " +
        '(README: "Stacks deployed before data disks").',
    );
  // Deployed before the record existed, and so before data disks: nothing else can be compared.
  if (!was && last.members.length > 0 && settings.mode === "cvm" && last.hosts === undefined) beforeDataDisks();
  // The engine imports a resource whose state holds another id than its `import` option names, i.e.
  // it would swap a host's disk for the listed one (pulumi/pulumi pkg/resource/deploy/step_generator.go,
  // isImport): adopting is only for a stack with nothing deployed.
  if (settings.mode === "cvm" && settings.cvm.dataDisk.adopt.length > 0 && last.members.length > 0) {
    refuse(
      "dataDiskIds",
      "this stack already has its data disks (it is deployed), and a listed disk would replace a host's own; " +
        `adopting is for the first \`pulumi up\` after \`pulumi destroy\`. Remove it with: pulumi config rm ${PROJECT}:dataDiskIds`,
    );
  }
  if (!was || last.members.length === 0) return problems;
  const back = (key: string, value: unknown) =>
    `set it back with: pulumi config set ${PROJECT}:${key} ${String(value)}`;

  if (settings.mode !== was.mode) {
    refuse(
      "mode",
      `was ${was.mode}: changing it would build an empty cluster elsewhere and delete this one's hosts or ` +
        `containers; to move, back up with BR into a new stack. ${back("mode", was.mode)}`,
    );
    return problems;
  }
  if (settings.clusterTls !== was.clusterTls) {
    refuse(
      "clusterTls",
      `was ${was.clusterTls}: PD keeps each member's peer URLs, scheme included, in its own data ` +
        `(tikv/pd server/join/join.go registers them once), so members restarted with ${settings.clusterTls ? "https" : "http"} ` +
        `would no longer reach each other. Switch on a new stack. ${back("clusterTls", was.clusterTls)}`,
    );
  }
  const [wasMajor, wasMinor, wasPatch] = release(was.tikvVersion);
  const [major, min, patch] = release(settings.tikvVersion);
  if (major < wasMajor || (major === wasMajor && min < wasMinor)) {
    refuse(
      "tikvVersion",
      `${settings.tikvVersion} is older than the deployed ${was.tikvVersion}: PD refuses a store whose ` +
        `major.minor is below the cluster version (tikv/pd server/cluster/cluster.go checkStoreVersion), so every ` +
        `restarted store would be shut out; allowDowngrade does not change that. ` +
        back("tikvVersion", was.tikvVersion),
    );
  } else if (major === wasMajor && min === wasMinor && patch < wasPatch && !settings.allowDowngrade) {
    // TiUP refuses any downgrade unless told --ignore-version-check (pingcap/tiup
    // components/cluster/command/upgrade.go: "Ignore checking if target version is bigger than
    // current version"): a patch release may write data or config an older one does not read.
    refuse(
      "tikvVersion",
      `${settings.tikvVersion} is older than the deployed ${was.tikvVersion}: a downgrade restarts every member on a ` +
        `release that may not read what the newer one wrote (RocksDB/raft-engine format or config it does not know: ` +
        `a store that fails to start stops the roll with that member down), and fixes in ${was.tikvVersion} are lost. ` +
        `To downgrade on purpose: pulumi config set ${PROJECT}:allowDowngrade true, pulumi up, then pulumi config rm ` +
        `${PROJECT}:allowDowngrade. Otherwise ${back("tikvVersion", was.tikvVersion)}`,
    );
  }
  const kept = Math.min(plan.hosts.length, was.hostAddresses.length);
  const moved = plan.hosts.slice(0, kept).filter((h, i) => h.tikvHost !== was.hostAddresses[i]);
  // In mode cvm the addresses follow subnetCidr, refused below with its own reason.
  if (moved.length > 0 && settings.mode === "existing") {
    refuse(
      "hosts",
      `would move ${moved.map((h) => `${h.name} from ${was.hostAddresses[h.index - 1]} to ${h.tikvHost}`).join(", ")}: ` +
        "PD keeps its members' peer URLs in its data and TiKV stores are known by address, so a member cannot change " +
        "address in place. Keep the addresses; to move a host, add a new one (nodeCount) and retire the old store first.",
    );
  }
  if (settings.mode === "cvm" && was.cvm) {
    const now = settings.cvm;
    const same = (key: string, before: string, after: string, why: string) => {
      if (before !== after)
        refuse(key, `was ${before || "(unset)"}, now ${after || "(unset)"}: ${why} ${back(key, before || "''")}`);
    };
    same(
      "tencentcloudRoute",
      was.cvm.tencentcloudRoute,
      now.tencentcloudRoute,
      "every Tencent Cloud resource would be " +
        "recreated under new type tokens, hosts and disks included; move a live stack by importing its resources (README, " +
        '"The Tencent Cloud provider: two routes").',
    );
    const wasZones = was.cvm.availabilityZones ?? [was.cvm.availabilityZone];
    const movedZone = plan.hosts
      .slice(0, kept)
      .filter((h) => zoneOfHost(wasZones, h.index) !== h.zone)
      .map((h) => `${h.name} from ${zoneOfHost(wasZones, h.index)} to ${h.zone}`);
    if (movedZone.length > 0) {
      const zoneKey = now.availabilityZones.length > 1 ? "availabilityZones" : "availabilityZone";
      refuse(
        zoneKey,
        `would move ${movedZone.join(", ")}: a CVM's zone, its data disk's and its subnet's are ForceNew ` +
          "(terraform-provider-tencentcloud v1.82.102 resource_tc_instance.go, resource_tc_cbs_storage.go, " +
          "resource_tc_subnet.go availability_zone), i.e. new hosts with empty disks. Hosts spread round robin, so " +
          `keep the deployed zones (${wasZones.join(", ")}) in that order; zones can be added to the end only if ` +
          "no running host changes zone. To spread a running cluster, move its data into a new stack (BR).",
      );
    }
    const wasGroup = was.cvm.placementGroupType;
    if (wasGroup !== undefined && wasGroup !== "none" && now.placementGroupType !== wasGroup) {
      refuse(
        "placementGroupType",
        `was ${wasGroup}, now ${now.placementGroupType}: the provider cannot take a CVM out of its placement group ` +
          '("Deleting `placement_group_id` is not currently supported", resource_tc_instance.go Update at v1.82.102), ' +
          "and a group's type is ForceNew, so the CVMs would have to join a new group on the hosts they run on, " +
          `which its spread rule may refuse. ${back("placementGroupType", wasGroup)}`,
      );
    }
    same(
      "subnetCidr",
      was.cvm.subnetCidr,
      now.subnetCidr,
      "every host's fixed private address comes from the subnet, and " +
        "PD keeps its members' peer URLs in its data: the subnet and every host would be rebuilt at new addresses.",
    );
    same(
      "vpcCidr",
      was.cvm.vpcCidr,
      now.vpcCidr,
      "a VPC's cidr_block is ForceNew: the VPC, subnet and every host " + "would be recreated with empty disks.",
    );
    if (was.cvm.dataDisk === undefined) {
      // Its data is on the system disks, which this version's first CVM change would wipe.
      beforeDataDisks();
      return problems;
    }
    if (now.systemDiskSize < was.cvm.systemDiskSize) {
      refuse(
        "systemDiskSize",
        `${now.systemDiskSize} GB is below the deployed ${was.cvm.systemDiskSize} GB: a disk cannot ` +
          `shrink. ${back("systemDiskSize", was.cvm.systemDiskSize)}`,
      );
    }
    // A data disk's encryption is fixed (ForceNew in resource_tc_cbs_storage.go): a change would mean new, empty disks.
    if (now.dataDisk.encrypt !== was.cvm.dataDisk.encrypt) {
      refuse(
        "dataDiskEncrypt",
        `was ${was.cvm.dataDisk.encrypt}: a disk's encryption cannot change, and new disks would ` +
          `be empty. Move the data into a new stack to change it. ${back("dataDiskEncrypt", was.cvm.dataDisk.encrypt)}`,
      );
    }
    if (now.dataDisk.sizeGB < was.cvm.dataDisk.sizeGB) {
      refuse(
        "dataDiskSize",
        `${now.dataDisk.sizeGB} GB is below the deployed ${was.cvm.dataDisk.sizeGB} GB: CBS disks only ` +
          `grow. ${back("dataDiskSize", was.cvm.dataDisk.sizeGB)}`,
      );
    }
  }
  const ca = checkCaTransition(was.ca ?? { generation: 1, rotation: "" }, settings.ca);
  if (ca !== undefined) refuse("caGeneration", ca);
  return problems;
}

// Modelled duration of each resource type's create step, in seconds: the one table the deploy
// model uses. Figures are typical for Tencent Cloud and a 2 vCPU host, not measurements.
import { ROUTES, TOKENS } from "../tencentcloud/bindings";

export const LATENCY_S: Readonly<Record<string, number>> = {
  "tencentcloud:vpc": 5,
  "tencentcloud:subnet": 5,
  "tencentcloud:securityGroup": 3,
  "tencentcloud:securityGroupRuleSet": 3,
  "tencentcloud:keyPair": 2,
  "tencentcloud:placementGroup": 3,
  "tencentcloud:eip": 5,
  "tencentcloud:eipAssociation": 5,
  // Boot plus cloud-init installing and restarting Docker.
  "tencentcloud:instance": 180,
  "tencentcloud:cbsStorage": 5,
  // The provider waits until the disk reports ATTACHED.
  "tencentcloud:cbsStorageAttachment": 10,
  "tencentcloud:cbsSnapshotPolicy": 2,
  "tencentcloud:cbsSnapshotPolicyAttachment": 2,
  "tls:PrivateKey": 1,
  "tls:CertRequest": 1,
  "tls:SelfSignedCert": 1,
  "tls:LocallySignedCert": 1,
  // One successful probe once Docker is up (the boot itself is in the instance's figure).
  "tikv-cvm:DockerReady": 2,
  "tikv-cvm:RolloutGate": 0.5,
  // Two Engine API calls (update, inspect).
  "tikv-cvm:PidsLimit": 0.5,
  "docker:Provider": 0,
  "docker:Volume": 1,
  "docker:RemoteImage": 60,
  "docker:Container": 10,
  "pulumi:StackReference": 1,
  "random:RandomPassword": 1,
  "docker:Network": 1,
};

const TENCENT = new Map(
  ROUTES.flatMap((route) =>
    Object.entries(TOKENS[route]).map(([kind, token]) => [token, `tencentcloud:${kind}`] as const),
  ),
);

/** Folds a type token to its key in LATENCY_S, e.g. pulumi:providers:docker -> docker:Provider. */
export function latencyKey(type: string): string {
  const tencent = TENCENT.get(type);
  if (tencent) return tencent;
  if (type.startsWith("pulumi:providers:")) return `${type.split(":")[2]}:Provider`;
  if (type.startsWith("pulumi-nodejs:dynamic/")) return `tikv-cvm:${type.split(":").pop()}`;
  const [pkg, , name] = type.split(":");
  return `${pkg === "pulumi" ? "pulumi" : pkg}:${name}`;
}

export function latencyOf(type: string): number {
  const key = latencyKey(type);
  const value = LATENCY_S[key];
  if (value === undefined) throw new Error(`no latency modelled for ${type} (${key})`);
  return value;
}

/**
 * Modelled duration of each step of a rolling host replacement (every Docker server certificate
 * renewed), for the resources it changes; unchanged ones cost nothing. Same caveat: a model.
 */
export const ROLL_S: Readonly<Record<string, number>> = {
  // The replaced CVM's step, delete-before-replace: its containers stop (10), the disk detaches
  // (10), the EIP is released from it (5), the CVM terminates (30), the new one boots and runs
  // cloud-init, which mounts the disk and starts Docker on it (180).
  "tencentcloud:instance": 10 + 10 + 5 + 30 + 180,
  "tencentcloud:cbsStorageAttachment": 10,
  "tencentcloud:eipAssociation": 5,
  "tls:LocallySignedCert": 1,
  "tikv-cvm:DockerReady": 2,
  // No pull: the images are on the data disk, which Docker finds again.
  "docker:Container": 10,
  // The replacement container's pids limit, set again through the Engine API.
  "tikv-cvm:PidsLimit": 1,
  "docker:Provider": 0,
  // A host's drain (PD leader resigned, the store's leaders evicted) and its return (members
  // healthy, store Up), on a lightly loaded cluster; a member's own gates around its restart.
  "tikv-cvm:RolloutGate:host-before": 30,
  "tikv-cvm:RolloutGate:host-after": 30,
  "tikv-cvm:RolloutGate": 5,
};

/** A changed resource's duration in a rolling host replacement. */
export function rollLatencyOf(type: string, name: string): number {
  const key = latencyKey(type);
  const gate = key === "tikv-cvm:RolloutGate" && /-host-\d+-(before|after)$/.exec(name);
  const value = ROLL_S[gate ? `${key}:host-${gate[1]}` : key];
  if (value === undefined) throw new Error(`no rolling-replacement latency modelled for ${type} (${key})`);
  return value;
}

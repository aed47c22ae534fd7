// What a mode is: every answer that differs between cvm, local and existing, in one object per
// mode (modes/cvm.ts, modes/local.ts, modes/existing.ts), chosen once (modes/index.ts).
import * as pulumi from "@pulumi/pulumi";
import type { ClusterHost } from "../components/tikvCluster";
import type { Pki } from "../components/pki";
import { Architecture } from "../lib/builds";
import { LastDeployment } from "../lib/lastDeployment";
import { MemoryShare } from "../lib/memoryBudget";
import { ClusterNetworking } from "../lib/networking";
import { DeployedHost } from "../lib/rolloutPlan";
import { Settings } from "../lib/settings";
import { Addressing, ClusterPlan, HostPlan } from "../lib/topology";

/** The settings of one mode. */
export type SettingsOf<M extends Settings["mode"]> = Extract<Settings, { readonly mode: M }>;

/** Names every mode derives from the stack. */
export interface StackNames {
  readonly stack: string;
  /** Prefix of every resource name, `tikv-<stack>`. */
  readonly prefix: string;
  /** Tags on every cloud resource. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface PlaceArgs {
  readonly plan: ClusterPlan;
  /** The Docker trust domain (the operator's client certificate; CVMs' server certificates). */
  readonly pki: Pki;
  readonly last: LastDeployment;
}

/** Where the cluster runs, once declared. */
export interface Placement {
  /** One per host, in host order. */
  readonly hosts: readonly ClusterHost[];
  readonly networking: ClusterNetworking;
  /** Per host, what to tell the operator about its engine (`tcp://…:2376`, or this machine's). */
  readonly dockerHosts: readonly pulumi.Input<string>[];
  /** Per host, the environment that points the docker CLI at its engine ("" for this machine's own). */
  readonly dockerEnvs: readonly pulumi.Output<string>[];
  /** Mode cvm: what the next deployment compares each CVM with, by host name. */
  readonly hostRollout?: pulumi.Output<Record<string, DeployedHost>>;
  /**
   * Hands each host the cluster's gate that drains it before its machine changes (the cluster
   * declares the gates after the hosts). Only CVMs made here wait; other modes ignore it.
   */
  drainBy(gates: readonly (pulumi.Resource | undefined)[]): void;
}

export interface Mode {
  readonly name: Settings["mode"];
  /** How hosts are named and addressed (lib/topology.ts). Pure. */
  readonly addressing: Addressing;
  /** The memory one host's PD + TiKV pair shares (lib/memoryBudget.ts). Pure. */
  memoryShare(host: HostPlan): MemoryShare;
  /** Whether each host has an engine of its own (cvm, existing), whose memory is then checked per host. */
  readonly enginePerHost: boolean;
  /**
   * The command that copies the operator's Docker client material out of the stack (lib/commands.ts),
   * or undefined when this stack issues none the operator needs. Pure.
   */
  readonly certSetup?: string;
  /**
   * The CPU architecture of the hosts' engines: a binary of tikvPatch/pdPatch must be built for it.
   * Pure: known from the mode (the instance types, or this machine), not asked of the engines.
   */
  readonly hostArchitecture: Architecture;
  /** Whether each host's operator address is its EIP (mode cvm), also exported as `publicIp`. */
  readonly operatorAddressIsEip: boolean;
  /** Declares the hosts (or this machine's engine) the cluster runs on. */
  place(args: PlaceArgs): Placement;
}

import * as pulumi from "@pulumi/pulumi";
import { PdTarget, ReportedBuild, getReportedBuilds, pollUntil } from "../lib/pdApi";
import { TlsMaterial } from "../lib/tlsMaterial";

/** One member as the program deploys it. */
export interface DeployedImage {
  readonly member: string;
  readonly kind: "pd" | "tikv";
  /** PD's name for it: the member name, or the store's address. */
  readonly pdMember: string;
  /** The image it runs: the release's, the user's (pdImage, tikvImage), or the one built on its host. */
  readonly image: string;
  /** SHA-256 of the user's binary in it (pdPatch, tikvPatch). */
  readonly patchSha256?: string;
}

/** The `builds` output: one entry per member. */
export interface MemberBuild extends Omit<DeployedImage, "pdMember"> {
  /** What PD reports: the member's binary_version or the store's version, and its git_hash. */
  readonly version?: string;
  readonly gitHash?: string;
  /** Why version and gitHash are missing. */
  readonly reported?: string;
}

export interface BuildReportArgs {
  member: DeployedImage;
  /** Changes whenever the member was replaced or rolled (its after gate's trigger): the report is read again. */
  trigger: pulumi.Input<string>;
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  tls?: TlsMaterial<pulumi.Input<string>>;
}

export interface ReportInputs {
  member: DeployedImage;
  trigger: string;
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
}

/** What is kept in the state: never the client key. */
interface ReportOutputs {
  trigger: string;
  member: DeployedImage;
  build: MemberBuild;
}

/**
 * Reads what the member reports once PD lists it (a store registers a moment after its container
 * is healthy); a member PD does not list within the bound is reported as such, not failed: the
 * deployment itself is done.
 */
export async function readReport(inputs: ReportInputs, intervalMs = 2_000): Promise<ReportOutputs> {
  const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
  const { pdMember, ...member } = inputs.member;
  let reported: ReportedBuild | undefined;
  let problem = "";
  await pollUntil(
    async () => {
      try {
        reported = (await getReportedBuilds(target))[member.kind][pdMember];
        problem = "";
      } catch (err) {
        problem = `PD did not answer: ${err instanceof Error ? err.message : String(err)}`;
      }
      return reported !== undefined;
    },
    { timeoutMs: Math.min(inputs.timeoutMinutes * 60_000, 120_000), intervalMs },
  );
  const build: MemberBuild = reported
    ? { ...member, version: reported.version, gitHash: reported.gitHash }
    : { ...member, reported: problem || `PD does not list ${pdMember}` };
  return reportOutputs(inputs, build);
}

/** What is kept: the member, its build, the trigger; never the client key. */
export function reportOutputs(inputs: ReportInputs, build: MemberBuild): ReportOutputs {
  return { trigger: inputs.trigger, member: inputs.member, build };
}

export const buildReportProvider: pulumi.dynamic.ResourceProvider<ReportInputs, ReportOutputs> = {
  async create(inputs) {
    return { id: `build-${inputs.member.member}`, outs: await readReport(inputs) };
  },
  async diff(_id, olds, news) {
    const changes = olds.trigger !== news.trigger || JSON.stringify(olds.member) !== JSON.stringify(news.member);
    return { changes, replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: await readReport(news) };
  },
};

/**
 * Which build runs where, one per member: its image and the version and git hash PD reports for
 * it (PD's member and store APIs), read right after its after gate whenever the member was
 * created, replaced or rolled, so as fresh as the member's last restart by this program; a
 * deployment that changes no member leaves it (and a preview never asks PD).
 */
export class BuildReport extends pulumi.dynamic.Resource {
  declare public readonly build: pulumi.Output<MemberBuild>;

  constructor(name: string, args: BuildReportArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      buildReportProvider,
      name,
      { ...args, tls: args.tls && { ...args.tls, keyPem: pulumi.secret(args.tls.keyPem) }, build: undefined },
      opts,
      "tikv-cvm",
      "BuildReport",
    );
  }
}

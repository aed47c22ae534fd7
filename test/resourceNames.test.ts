// Every resource's URN (its type, its parents' types and its name) for each mode, pinned. A URN is
// what the engine keys state by: a changed URN deletes the old resource and creates a new one, and
// for a container or a volume that means lost data. Refactors must leave this list unchanged; a
// deliberate rename needs `aliases` and a new fixture.
import * as fs from "fs";
import * as path from "path";
import { ProgramRun, lastOutputsOf, runProgram, EXISTING_STACK, NOT_CVM } from "./support/harness";

const FIXTURE = path.join(__dirname, "fixtures", "resourceUrns.json");

/** The URN of every resource the mocks saw registered, sorted. */
async function urnsOf(
  config: Record<string, string | undefined>,
  options: Parameters<typeof runProgram>[1] = {},
): Promise<{ run: ProgramRun; urns: string[] }> {
  let monitor: { getRegisteredResources(): Map<string, unknown> } | undefined;
  const run = await runProgram(config, {
    ...options,
    beforeProgram: () => {
      // The mock monitor names each resource exactly as the engine would (runtime/mocks.js newUrn).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): typeof monitor };
      monitor = settings.getMonitor();
    },
  });
  if (!monitor) throw new Error("no mock monitor");
  return { run, urns: [...monitor.getRegisteredResources().keys()].sort() };
}

const outputsOf = (run: ProgramRun) => lastOutputsOf(run, ["rolloutOrder", "tikvStores", "deployment", "hostRollout"]);

async function allModes(): Promise<Record<string, string[]>> {
  const cvm = await urnsOf({});
  // A running 4-host cluster scaled in to 3 with an SSH key, data snapshots, public Grafana and an
  // alert webhook: every optional resource of mode cvm, host gates and a retirement.
  const four = await urnsOf({ "tikv-cvm:nodeCount": "4" });
  const cvmFull = await urnsOf(
    {
      "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
      "tikv-cvm:dataDiskSnapshotRetentionDays": "7",
      "tikv-cvm:grafanaPublic": "true",
      "tikv-cvm:alertWebhookUrl": "https://hooks.example.com/T0/B0/token",
    },
    { lastOutputs: outputsOf(four.run), secretKeys: ["tikv-cvm:alertWebhookUrl"] },
  );
  const local = await urnsOf(
    { ...NOT_CVM, "tikv-cvm:mode": "local", "tikv-cvm:hostMemoryGiB": "12" },
    { env: { TENCENTCLOUD_SECRET_ID: undefined, TENCENTCLOUD_SECRET_KEY: undefined } },
  );
  const existing = await urnsOf(EXISTING_STACK.config, EXISTING_STACK.options);
  // The other Tencent Cloud route: the same names under the bridged plugin's type tokens.
  const bridged = await urnsOf({ "tikv-cvm:tencentcloudRoute": "bridged" });
  return {
    cvm: cvm.urns,
    cvmScaledInWithOptions: cvmFull.urns,
    cvmBridged: bridged.urns,
    local: local.urns,
    existing: existing.urns,
  };
}

test("every mode declares exactly the resources (URNs) it declared before", async () => {
  const now = await allModes();
  if (process.env.UPDATE_RESOURCE_URNS === "1") fs.writeFileSync(FIXTURE, `${JSON.stringify(now, null, 2)}\n`);
  const pinned = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, string[]>;
  for (const mode of Object.keys(pinned)) expect([mode, now[mode]]).toEqual([mode, pinned[mode]]);
  expect(Object.keys(now).sort()).toEqual(Object.keys(pinned).sort());
});

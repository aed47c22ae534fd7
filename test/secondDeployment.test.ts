// Mode cvm deployed, then deployed again, with the last deployment read back as the engine hands it
// over: hostRollout is a secret output, so the stack reference returns it as a secret (the harness's
// StackReference lists it in secretOutputNames, as the engine does). Before index.ts read it with
// getOutputDetails, every second `pulumi up` of a cvm stack stopped here.
import { ProgramRun, UNKNOWN, byName, ofType, runProgram, unwrap } from "./support/harness";

const INSTANCE = "tencentcloud:index/instance:Instance";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const NEXT_VERSION = "v8.5.8";

let first: ProgramRun;

beforeAll(async () => {
  first = await runProgram();
});

test("the first deployment exports the host roll record as a secret, which the next one reads", () => {
  expect(first.secretOutputs).toContain("hostRollout");
  expect(Object.keys(first.outputs.hostRollout as object).sort()).toEqual([
    "tikv-host-1",
    "tikv-host-2",
    "tikv-host-3",
  ]);
});

test("no change: the second deployment declares the same resources with the same inputs", async () => {
  const second = await runProgram({}, { lastOutputs: first.outputs });
  expect(second.resources.map((r) => r.name).sort()).toEqual(first.resources.map((r) => r.name).sort());
  for (const r of ofType(second, INSTANCE)) {
    expect(unwrap(r.inputs)).toEqual(unwrap(byName(first, r.name).inputs));
  }
  // The record read back is the one written: the hosts' roll keys are unchanged.
  expect(unwrap(second.outputs.hostRollout)).toEqual(unwrap(first.outputs.hostRollout));
});

test("a version change: the second deployment rolls containers, not CVMs", async () => {
  const second = await runProgram({ "tikv-cvm:tikvVersion": NEXT_VERSION }, { lastOutputs: first.outputs });
  const images = ofType(second, IMAGE).map((c) => String(c.inputs.name));
  expect(images.filter((i) => i.endsWith(`:${NEXT_VERSION}`)).length).toBe(6);
  for (const r of ofType(second, INSTANCE)) {
    expect(unwrap(r.inputs.userData)).toEqual(unwrap(byName(first, r.name).inputs.userData));
  }
});

test("a boot-config change: the second deployment gives every CVM new user data", async () => {
  const second = await runProgram(
    { "tikv-cvm:registryMirrors": JSON.stringify(["https://mirror.example.com"]) },
    { lastOutputs: first.outputs },
  );
  for (const r of ofType(second, INSTANCE)) {
    expect(unwrap(r.inputs.userData)).not.toEqual(unwrap(byName(first, r.name).inputs.userData));
  }
});

test("the first preview declares what the first deployment does, with the cloud's outputs unknown", async () => {
  const preview = await runProgram({}, { preview: true });
  expect(preview.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
    first.resources.map((r) => `${r.type} ${r.name}`).sort(),
  );
  // The EIPs are not allocated yet, so neither is anything printed from their addresses.
  expect(preview.outputs.dockerCommands).toEqual(UNKNOWN);
});

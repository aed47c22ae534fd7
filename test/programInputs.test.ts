// Inputs of the program's resources that decide whether the cluster survives a lost host, a
// deletion, a slow start or a destroy, read as the engine receives them (mock runs of index.ts).
import { parse as parseToml } from "smol-toml";
import { Declared, ProgramRun, ofType, runProgram, unwrap } from "./support/harness";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";

const members = (run: ProgramRun, kind: "pd" | "tikv"): Declared[] =>
  ofType(run, CONTAINER).filter((c) => new RegExp(`-${kind}\\d+$`).test(c.name));

/** The TOML file uploaded into a container that has a [section] table. */
function uploadedToml(container: Declared, section: string): Record<string, Record<string, unknown>> {
  const uploads = unwrap(container.inputs.uploads) as { file: string; content?: string }[];
  const tables = uploads
    .filter((u) => u.file.endsWith(".toml"))
    .map((u) => parseToml(u.content ?? "") as Record<string, Record<string, unknown>>);
  const found = tables.find((t) => t[section] !== undefined);
  if (!found) throw new Error(`${container.name} has no uploaded TOML with [${section}]`);
  return found;
}

/** Seconds in a Go time.Duration string as the Docker provider reads them back ("1m0s", "10s"). */
function goSeconds(duration: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(duration);
  if (!m || duration === "") throw new Error(`not a Go duration: ${duration}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

describe.each([3, 5])("%i hosts", (nodeCount) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ "tikv-cvm:nodeCount": String(nodeCount) });
  });

  test("PD keeps three replicas of every region: a majority survives the loss of any one host", () => {
    // Raft needs a majority of a region's replicas: with 1 replica a lost host loses its regions'
    // data, with 2 it stops their writes. Three is also PD's own default (tikv/pd
    // server/config/config.go, defaultMaxReplicas), and never more than there are stores.
    const pds = members(run, "pd");
    expect(pds.length).toBeGreaterThan(0);
    for (const pd of pds) {
      const replicas = uploadedToml(pd, "replication").replication["max-replicas"];
      expect([pd.name, replicas]).toEqual([pd.name, 3]);
    }
    expect(members(run, "tikv")).toHaveLength(nodeCount);
  });
});

describe("the default stack (dev, monitoring on)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram();
  });

  test("every image stays on its host when its resource is deleted or replaced", () => {
    // keepLocally false makes a destroy, or a new tag, remove the image from the host
    // (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_image_funcs.go
    // removeImage): a retained volume recreated later then needs a registry or mirror again, and a
    // pre-loaded image (mirror down, e2e) is gone.
    const images = ofType(run, IMAGE);
    expect(images.length).toBe(ofType(run, CONTAINER).length);
    for (const image of images) expect([image.name, image.inputs.keepLocally]).toEqual([image.name, true]);
  });

  test("PD and TiKV get 90 s to exit, on `docker stop` and on the engine's deletion alike", () => {
    // 90 s is systemd's default TimeoutStopSec, which TiUP deployments rely on (pingcap/tiup
    // pkg/cluster/module/systemd.go); the provider's default destroy grace is 0 (SIGKILL at once).
    const containers = [...members(run, "pd"), ...members(run, "tikv")];
    expect(containers).toHaveLength(6);
    for (const c of containers) {
      expect([c.name, c.inputs.stopTimeout, c.inputs.destroyGraceSeconds]).toEqual([c.name, 90, 90]);
    }
  });

  test("the provider's health wait outlasts Docker's own verdict: a slow but healthy start never fails a deployment", () => {
    // The provider polls for "healthy" until wait_timeout and fails the container at the deadline
    // (kreuzwerker/terraform-provider-docker resource_docker_container_funcs.go). Docker only calls
    // a container unhealthy after its start period and `retries` failed probes, each up to
    // interval + timeout (moby daemon/health.go): a shorter wait fails a PD member that is still
    // waiting for its peers' quorum.
    const containers = ofType(run, CONTAINER);
    expect(containers).toHaveLength(8);
    for (const c of containers) {
      const hc = c.inputs.healthcheck as { interval: string; timeout: string; retries: number; startPeriod: string };
      expect([c.name, c.inputs.wait]).toEqual([c.name, true]);
      const verdict = goSeconds(hc.startPeriod) + hc.retries * (goSeconds(hc.interval) + goSeconds(hc.timeout));
      expect([c.name, Number(c.inputs.waitTimeout) >= verdict]).toEqual([c.name, true]);
    }
  });

  test("stack dev reads back its own last deployment: the reference names <organization>/<project>/dev", () => {
    expect(ofType(run, "pulumi:pulumi:StackReference").map((r) => r.inputs.name)).toEqual([
      "organization/tikv-cvm/dev",
    ]);
  });
});

test("stack staging reads back its own last deployment, not dev's", async () => {
  const run = await runProgram({}, { stack: "staging" });
  expect(ofType(run, "pulumi:pulumi:StackReference").map((r) => r.inputs.name)).toEqual([
    "organization/tikv-cvm/staging",
  ]);
});

// Issue 18 item 1: the PD bootstrap permit is written through the Engine API only when created on
// the cluster's first deployment, by a one-shot container that is always removed (against
// test/support/fakeEngine.ts).
import { PermitInputs, bootstrapPermitProvider } from "../components/bootstrapPermit";
import { FakeEngine } from "./support/fakeEngine";

describe("the bootstrap permit provider", () => {
  let engine: FakeEngine;
  let stop: () => void;
  beforeEach(async () => {
    engine = new FakeEngine();
    stop = await engine.listen();
  });
  afterEach(() => stop());
  const inputs = (bootstrap: boolean): PermitInputs => ({
    endpoint: { kind: "environment" },
    image: "sha256:pd",
    volumeName: "pd-data",
    name: "pd1-bootstrap-permit",
    dataDir: "/data",
    bootstrap,
  });

  test("on the first deployment: a one-shot container of the PD image touches the permit on the volume, then goes", async () => {
    const created = await bootstrapPermitProvider.create(inputs(true));
    expect(created.outs).toEqual({ volumeName: "pd-data", outcome: "permit written" });
    expect(engine.calls).toEqual([
      "DELETE /containers/pd1-bootstrap-permit?force=true",
      "POST /containers/create?name=pd1-bootstrap-permit",
      "POST /containers/abc/start",
      "POST /containers/abc/wait",
      "DELETE /containers/abc?force=true",
    ]);
    expect(engine.bodies[0]).toEqual({
      Image: "sha256:pd",
      Entrypoint: ["/bin/sh"],
      Cmd: ["-c", "touch /data/tikv-cvm-bootstrap-permit"],
      NetworkDisabled: true,
      HostConfig: {
        Binds: ["pd-data:/data"],
        NetworkMode: "none",
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges:true"],
      },
    });
  });

  test("created on any later deployment: nothing is written", async () => {
    const created = await bootstrapPermitProvider.create(inputs(false));
    expect(created.outs?.outcome).toBe("cluster already bootstrapped");
    expect(engine.calls).toEqual([]);
  });

  test("never runs again: no input change is a change", async () => {
    await expect(
      bootstrapPermitProvider.diff!(
        "pd1-bootstrap-permit",
        { volumeName: "pd-data", outcome: "permit written" },
        inputs(false),
      ),
    ).resolves.toEqual({
      changes: false,
      replaces: [],
    });
  });

  test("a failed write fails the deployment before the member starts, and the container is removed", async () => {
    engine.exitCode = 1;
    await expect(bootstrapPermitProvider.create(inputs(true))).rejects.toThrow(/pd1-bootstrap-permit exited with 1/);
    expect(engine.calls[engine.calls.length - 1]).toBe("DELETE /containers/abc?force=true");
  });
});

// Issue 18 item 1: the PD bootstrap permit is written through the Engine API only when created on
// the cluster's first deployment, by a one-shot container that is always removed. A fake Engine
// API answering as dockerd does (status codes of the Docker Engine API v1.41: create 201,
// start 204, wait 200 {"StatusCode"}, delete 204 / 404).
import * as http from "http";
import { AddressInfo } from "net";
import { bootstrapPermitProvider, PermitInputs } from "../components/bootstrapPermit";

class FakeEngine {
  calls: string[] = [];
  bodies: unknown[] = [];
  exitCode = 0;
  private readonly server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const call = `${req.method} ${req.url}`;
      this.calls.push(call);
      if (body) this.bodies.push(JSON.parse(body));
      const send = (status: number, value?: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(value === undefined ? "" : JSON.stringify(value));
      };
      if (req.method === "DELETE" && req.url?.startsWith("/containers/pd1-bootstrap-permit")) return send(404);
      if (req.method === "POST" && req.url?.startsWith("/containers/create")) return send(201, { Id: "abc" });
      if (call === "POST /containers/abc/start") return send(204);
      if (call === "POST /containers/abc/wait") return send(200, { StatusCode: this.exitCode });
      if (call === "DELETE /containers/abc?force=true") return send(204);
      return send(404, { message: "no such route" });
    });
  });
  listen(): Promise<number> {
    return new Promise((r) => this.server.listen(0, "127.0.0.1", () => r((this.server.address() as AddressInfo).port)));
  }
  close(): void {
    this.server.close();
  }
}

describe("the bootstrap permit provider", () => {
  let engine: FakeEngine;
  const saved = process.env.DOCKER_HOST;
  beforeEach(async () => {
    engine = new FakeEngine();
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${await engine.listen()}`;
  });
  afterEach(() => {
    engine.close();
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });
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

// Just enough of the Docker Engine API for a one-shot container (lib/dockerApi.ts runOneShot),
// answering with dockerd's status codes (Engine API v1.41: create 201 {"Id"}, start 204,
// wait 200 {"StatusCode"}, delete 204, or 404 for no such container). Records every call.
import * as http from "http";
import { AddressInfo } from "net";

export class FakeEngine {
  calls: string[] = [];
  /** The JSON bodies of the requests, in order (the create's). */
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
      if (call === "DELETE /containers/abc?force=true") return send(204);
      // A leftover by name: none.
      if (req.method === "DELETE") return send(404, { message: "No such container" });
      if (req.method === "POST" && req.url?.startsWith("/containers/create")) return send(201, { Id: "abc" });
      if (call === "POST /containers/abc/start") return send(204);
      if (call === "POST /containers/abc/wait") return send(200, { StatusCode: this.exitCode });
      return send(404, { message: "page not found" });
    });
  });

  /** Listens, and points DOCKER_HOST at it (what an `environment` endpoint reads); returns an undo. */
  async listen(): Promise<() => void> {
    const port = await new Promise<number>((r) =>
      this.server.listen(0, "127.0.0.1", () => r((this.server.address() as AddressInfo).port)),
    );
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    return () => {
      this.server.close();
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    };
  }
}

// PD and TiKV get a real grace period when the engine deletes or replaces their containers. The
// Docker provider (kreuzwerker v3.9.0, resourceDockerContainerDelete) deletes by stopping with
// `destroy_grace_seconds` and then force-removing; here a real dockerd does exactly that to a
// container that traps SIGTERM and records it in a volume.
import * as fs from "fs";
import { runProgram } from "./support/harness";
import { tempDir } from "./support/openssl";
import { TlsDockerd, importBusyboxImage, startTlsDockerd } from "./support/tlsDockerd";
import { describeWithTools } from "./support/tools";

const CONTAINER = "docker:index/container:Container";

/** Records SIGTERM, then takes EXIT_AFTER seconds to shut down cleanly, as a server flushing would. */
const TRAPPING_ENTRYPOINT = `#!/bin/sh
term() {
  echo "TERM $(date +%s)" >> /rec/log
  sleep "\${EXIT_AFTER:-2}"
  echo "clean exit" >> /rec/log
  exit 0
}
trap term TERM
echo started >> /rec/log
while :; do sleep 1 & wait $!; done
`;

let graceSeconds = 0;
beforeAll(async () => {
  const run = await runProgram();
  const containers = run.resources.filter((r) => r.type === CONTAINER && /-(pd|tikv)\d+$/.test(r.name));
  expect(containers).toHaveLength(6);
  const graces = new Set(containers.map((c) => c.inputs.destroyGraceSeconds));
  expect(graces.size).toBe(1);
  graceSeconds = Number([...graces][0]);
  // `docker stop` by hand gives the same time as a deletion by the engine.
  for (const c of containers) expect(c.inputs.stopTimeout).toBe(graceSeconds);
});

describeWithTools(
  ["dockerd", "docker", "openssl", "tar", "busybox"],
  "deleting a container the way the provider does, on a real dockerd",
  () => {
    const dir = tempDir("stop-grace");
    let tls: TlsDockerd | undefined;
    let serial = 0;

    beforeAll(async () => {
      tls = await startTlsDockerd(dir);
      importBusyboxImage(tls, dir, "tikv-cvm-test/trap:1", TRAPPING_ENTRYPOINT);
    }, 60_000);

    afterAll(async () => {
      await tls?.daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Starts a trapping container, deletes it as the provider does with `grace`, and reports what happened. */
    async function deleteAsProvider(
      grace: number,
      exitAfter: number,
    ): Promise<{ log: string[]; exitCode: number; stopSeconds: number }> {
      const docker = tls!.docker;
      const name = `victim-${++serial}`;
      const volume = `${name}-rec`;
      docker("volume", "create", volume);
      docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        "-e",
        `EXIT_AFTER=${exitAfter}`,
        "-v",
        `${volume}:/rec`,
        "tikv-cvm-test/trap:1",
      );
      const readLog = () =>
        docker(
          "run",
          "--rm",
          "--network",
          "none",
          "-v",
          `${volume}:/rec`,
          "--entrypoint",
          "cat",
          "tikv-cvm-test/trap:1",
          "/rec/log",
        )
          .split("\n")
          .filter(Boolean);
      for (let i = 0; i < 100 && !readLog().includes("started"); i++) await new Promise((r) => setTimeout(r, 100));
      // resourceDockerContainerDelete: ContainerStop(timeout = destroy_grace_seconds), then
      // ContainerRemove(Force: true).
      const started = Date.now();
      docker("stop", "--time", String(grace), name);
      const stopSeconds = (Date.now() - started) / 1000;
      const exitCode = Number(docker("inspect", "--format", "{{.State.ExitCode}}", name).trim());
      docker("rm", "--force", name);
      return { log: readLog(), exitCode, stopSeconds };
    }

    test("with the program's grace period the signal arrives and the member exits cleanly, not killed", async () => {
      expect(graceSeconds).toBeGreaterThanOrEqual(30);
      const { log, exitCode, stopSeconds } = await deleteAsProvider(graceSeconds, 3);
      expect(log[0]).toBe("started");
      expect(log[1]).toMatch(/^TERM \d+$/);
      expect(log[2]).toBe("clean exit");
      expect(exitCode).toBe(0);
      // It took its 3 s; docker waited for it instead of killing it.
      expect(stopSeconds).toBeGreaterThanOrEqual(2.5);
      expect(stopSeconds).toBeLessThan(graceSeconds);
    }, 60_000);

    test("the timeout is honoured: a member still running at the deadline is killed then, not before", async () => {
      const { log, exitCode, stopSeconds } = await deleteAsProvider(3, 30);
      expect(log).toEqual(["started", expect.stringMatching(/^TERM \d+$/)]);
      expect(exitCode).toBe(137);
      expect(stopSeconds).toBeGreaterThanOrEqual(2.5);
      expect(stopSeconds).toBeLessThan(10);
    }, 60_000);

    test("the provider's default (destroy_grace_seconds 0) kills at once: the shutdown never completes", async () => {
      const { log, exitCode } = await deleteAsProvider(0, 3);
      expect(log).not.toContain("clean exit");
      expect(exitCode).toBe(137);
    }, 60_000);
  },
);

// Starts a real dockerd from a daemon.json, in its own directory, on a loopback port.
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface RunningDockerd {
  readonly port: number;
  readonly dir: string;
  readonly logPath: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/**
 * `config` is written as-is to daemon.json; dockerd refuses unknown keys and conflicting ones, so a
 * bad rendering fails here. Resolves once the TLS port accepts connections.
 */
export async function startDockerd(
  dir: string,
  config: Record<string, unknown>,
  port: number,
): Promise<RunningDockerd> {
  const configPath = path.join(dir, "daemon.json");
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const logPath = path.join(dir, "dockerd.log");
  const log = fs.openSync(logPath, "a");
  const child = spawn("dockerd", ["--config-file", configPath], { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  let exited: number | null = null;
  child.on("exit", (code) => {
    exited = code ?? -1;
  });
  const pidfile = config.pidfile as string;

  const stop = async (): Promise<void> => {
    let pid: number | undefined;
    try {
      pid = Number(fs.readFileSync(pidfile, "utf8").trim());
    } catch {
      pid = child.pid;
    }
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  };

  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (exited !== null) {
        throw new Error(`dockerd exited with ${exited}:\n${fs.readFileSync(logPath, "utf8").slice(-2000)}`);
      }
      try {
        await waitForPort(port, Date.now());
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, logPath, stop };
}

/**
 * What a second dockerd on this machine needs beside the one that may already run: its own
 * roots and pidfile under `dir`, vfs storage, and no iptables or default bridge (none of these
 * keys is in the daemon.json the program renders).
 */
export function besideOthers(dir: string): Record<string, unknown> {
  return {
    "storage-driver": "vfs",
    "data-root": `${dir}/root`,
    "exec-root": `${dir}/exec`,
    pidfile: `${dir}/docker.pid`,
    iptables: false,
    bridge: "none",
  };
}

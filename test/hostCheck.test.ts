// Items: a host's clock behind the operator's, and the memory its kernel really has. @pulumi/tls cannot backdate a certificate, so the
// program holds a new certificate back until the host's own clock has passed its NotBefore, read
// through the real Docker API; and it warns about a host off by TiUP's limit or more.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as tls from "tls";
import { hostCheckProvider } from "../components/hostCheck";
import {
  CLOCK_OFFSET_LIMIT_MS,
  clockWarning,
  latestTime,
  offsetFrom,
  readHostClock,
  waitBeforeValidMs,
  waitForHostClock,
} from "../lib/hostClock";
import { OS_HEADROOM_MIB } from "../lib/memoryBudget";
import { issue, tempDir } from "./support/openssl";
import { serializeProvider } from "./support/serialized";
import { TlsDockerd, startTlsDockerd } from "./support/tlsDockerd";
import { describeWithTools } from "./support/tools";

describe("pure", () => {
  test("offset from one reading: the host's time at the midpoint of the round trip", () => {
    expect(offsetFrom(1000, 1100, 1050)).toEqual({ offsetMs: 0, uncertaintyMs: 50 });
    expect(offsetFrom(1000, 1100, 1050 + 300_000)).toEqual({ offsetMs: 300_000, uncertaintyMs: 50 });
    expect(offsetFrom(1000, 1020, 1010 - 700)).toEqual({ offsetMs: -700, uncertaintyMs: 10 });
  });

  test("the wait until a host's clock passes NotBefore takes the uncertainty on the safe side", () => {
    const now = Date.parse("2026-12-07T06:00:00Z");
    // The operator is 5 minutes ahead: its certificate starts 5 minutes after the host's now.
    const notBefore = "2026-12-07T06:00:00.000Z";
    expect(waitBeforeValidMs(notBefore, { offsetMs: -300_000, uncertaintyMs: 0 }, now)).toBe(300_000);
    expect(waitBeforeValidMs(notBefore, { offsetMs: -300_000, uncertaintyMs: 40 }, now)).toBe(300_040);
    expect(waitBeforeValidMs(notBefore, { offsetMs: 2_000, uncertaintyMs: 40 }, now)).toBe(0);
    expect(waitBeforeValidMs("", { offsetMs: -300_000, uncertaintyMs: 0 }, now)).toBe(0);
  });

  test("TiUP's 500 ms limit decides the warning, beyond what the round trip leaves uncertain", () => {
    expect(CLOCK_OFFSET_LIMIT_MS).toBe(500);
    expect(clockWarning("tikv-host-2", { offsetMs: 499, uncertaintyMs: 0 })).toBeUndefined();
    expect(clockWarning("tikv-host-2", { offsetMs: 600, uncertaintyMs: 200 })).toBeUndefined();
    expect(clockWarning("tikv-host-2", { offsetMs: -500, uncertaintyMs: 0 })).toMatch(
      /^tikv-host-2: its clock is 500 ms behind this machine's/,
    );
    expect(clockWarning("tikv-host-2", { offsetMs: 298_000, uncertaintyMs: 3 })).toMatch(/4 min 58 s ahead of/);
  });
});

test("the latest of the certificates' start times, in the form @pulumi/tls reports them", () => {
  // validityStartTime is Go's time.MarshalText (terraform-provider-tls common_cert.go): RFC 3339.
  expect(latestTime(["2026-01-01T00:00:00Z", "2026-12-07T06:05:00Z", "2026-12-07T14:00:00+08:00"])).toBe(
    "2026-12-07T06:05:00.000Z",
  );
  expect(latestTime([])).toBe("");
  expect(() => latestTime(["soon"])).toThrow(/not a time: "soon"/);
});

describeWithTools(["dockerd", "openssl"], "a real dockerd's clock through its TLS API", () => {
  const dir = tempDir("clock-dockerd");
  let engine: TlsDockerd | undefined;
  const endpoint = () => engine!.endpoint;

  beforeAll(async () => {
    engine = await startTlsDockerd(dir);
  }, 60_000);

  afterAll(async () => {
    await engine?.daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a host on this machine's clock reads within a few milliseconds of it", async () => {
    const reading = await readHostClock(endpoint(), 5_000);
    expect(Math.abs(reading.offsetMs)).toBeLessThan(reading.uncertaintyMs + 50);
    expect(clockWarning("tikv-host-1", reading)).toBeUndefined();
  });

  test("a certificate from 3 s in the future (an operator 3 s ahead) is held back until the host has passed it", async () => {
    const notBefore = new Date(Date.now() + 3_000).toISOString();
    const started = Date.now();
    await waitForHostClock(endpoint(), { label: "tikv-host-1", notBefore, maxWaitMs: 60_000, attemptTimeoutMs: 5_000 });
    const hostNow = Date.now() + (await readHostClock(endpoint(), 5_000)).offsetMs;
    expect(hostNow).toBeGreaterThanOrEqual(Date.parse(notBefore));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  }, 30_000);

  test("what is held back is what the host's TLS would refuse, and accepts once the wait is over", async () => {
    // The oracle: Node's own verification of a certificate whose NotBefore is 3 s ahead.
    const ca = engine!.ca;
    const from = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const future = issue(
      dir,
      "future",
      {
        commonName: "future",
        allowedUses: ["digital_signature", "server_auth"],
        ipAddresses: ["127.0.0.1"],
        algorithm: "ECDSA",
        ecdsaCurve: "P256",
        validity: { from, to: new Date("2030-01-01T00:00:00Z") },
      },
      ca,
    );
    const handshake = () =>
      new Promise<string>((resolve) => {
        const server = tls.createServer({ cert: future.certPem, key: future.keyPem }, (s) => s.end());
        server.listen(0, "127.0.0.1", () => {
          const { port: p } = server.address() as { port: number };
          const socket = tls.connect({ host: "127.0.0.1", port: p, ca: ca.certPem }, () => {
            socket.end();
            server.close();
            resolve("ok");
          });
          socket.on("error", (err: NodeJS.ErrnoException) => {
            server.close();
            resolve(err.code ?? err.message);
          });
        });
      });
    if (Date.now() < from.getTime()) expect(await handshake()).toBe("CERT_NOT_YET_VALID");
    await waitForHostClock(endpoint(), {
      label: "tikv-host-1",
      notBefore: new Date(new crypto.X509Certificate(future.certPem).validFrom).toISOString(),
      maxWaitMs: 60_000,
      attemptTimeoutMs: 5_000,
    });
    expect(await handshake()).toBe("ok");
  }, 30_000);

  test("an operator clock far ahead fails at once, naming both clocks and the fix, without waiting", async () => {
    const notBefore = new Date(Date.now() + 20 * 60_000).toISOString();
    const started = Date.now();
    await expect(
      waitForHostClock(endpoint(), {
        label: "tikv-host-1",
        notBefore,
        maxWaitMs: 10 * 60_000,
        attemptTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/tikv-host-1: certificates made on this machine are valid from .* @pulumi\/tls cannot backdate/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("the caps planned for a host are checked against the MemTotal its kernel reports, not the nominal size", async () => {
    const memTotalMiB = Math.floor(os.totalmem() / 1048576);
    const base = { endpoint: endpoint(), label: "tikv-host-1", notBefore: "", hostKey: "k", maxWaitMinutes: 1 };
    // The oracle: this machine's own kernel, through Node (os.totalmem reads the same MemTotal).
    const fits = await hostCheckProvider.create({ ...base, plannedMiB: memTotalMiB - OS_HEADROOM_MIB });
    expect(Math.abs(fits.outs!.memTotalMiB - memTotalMiB)).toBeLessThanOrEqual(1);
    await expect(hostCheckProvider.create({ ...base, plannedMiB: memTotalMiB - OS_HEADROOM_MIB + 2 })).rejects.toThrow(
      new RegExp(
        `^tikv-host-1: its kernel sees ${fits.outs!.memTotalMiB} MiB \\(MemTotal\\).*Set tikv-cvm:hostMemoryGiB`,
      ),
    );
  });

  test("the provider, serialized as the engine does it, reads the real clock and keeps no key", async () => {
    const provider = (await serializeProvider(hostCheckProvider)).load();
    const result = await provider.create({
      endpoint: endpoint(),
      label: "tikv-host-1",
      notBefore: "",
      hostKey: "127.0.0.1/ins-1",
      maxWaitMinutes: 1,
    });
    const olds = result.outs!;
    expect(Math.abs(olds.offsetMs)).toBeLessThan(100);
    expect(JSON.stringify(olds)).not.toContain("PRIVATE KEY");
    expect(await provider.diff!("id", olds, { ...olds, endpoint: endpoint(), maxWaitMinutes: 1 })).toEqual({
      changes: false,
      replaces: [],
    });
    expect(
      await provider.diff!("id", olds, {
        ...olds,
        notBefore: "2026-12-07T06:00:00.000Z",
        endpoint: endpoint(),
        maxWaitMinutes: 1,
      }),
    ).toEqual({ changes: true, replaces: [] });
  });
});

// Item: every preview and up warns a month ahead of a leaf's end, naming it and the command that
// renews it, and says when protect: true holds a Docker server certificate's renewal back.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { EXPIRY_WARNING_DAYS, LEAF_VALIDITY_HOURS, expiryWarning, heldExpiryWarning } from "../lib/certificates";
import { bootedServerCertValidTo, encodeUserData, renderCloudConfig } from "../lib/cloudInit";
import { DeployedHost } from "../lib/rolloutPlan";
import { parse } from "yaml";
import { ALERT_RULES_PATH } from "../lib/alertRules";
import { ProgramRun, byName, lastOutputsOf, runProgram, unwrap } from "./support/harness";
import { issue, tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const DAY = 86_400_000;
const now = Date.parse("2026-12-07T06:00:00Z");
const inDays = (d: number) => new Date(now + d * DAY).toISOString();

describe("pure", () => {
  test("a leaf warns from 30 days before its end on, naming it and `pulumi up --refresh`", () => {
    expect(EXPIRY_WARNING_DAYS).toBe(30);
    expect(expiryWarning("tikv-dev-cluster-tls-tikv2-cert", inDays(31), now)).toBeUndefined();
    expect(expiryWarning("tikv-dev-cluster-tls-tikv2-cert", inDays(30), now)).toBe(
      `certificate tikv-dev-cluster-tls-tikv2-cert expires ${inDays(30)}, in 30 day(s): renew it with ` +
        "`pulumi up --refresh` (a refresh renews every leaf in its last 90 days; a plain `pulumi up` never does, pulumi/pulumi-tls#39)",
    );
    expect(expiryWarning("x", inDays(-2), now)).toMatch(/^certificate x EXPIRED .*, 2 day\(s\) ago: renew it/);
    expect(() => expiryWarning("x", "soon", now)).toThrow(/not a time/);
  });

  test("a held Docker server certificate names the host, protect and the README's steps", () => {
    expect(heldExpiryWarning("tikv-host-2", inDays(45), now)).toBeUndefined();
    expect(heldExpiryWarning("tikv-host-2", inDays(10), now)).toMatch(
      /^tikv-host-2: the Docker server certificate it booted with expires .*, in 10 day\(s\), and protect: true holds its renewal back.*"Rolling protected hosts"/,
    );
  });
});

/** Runs the program, returning what it warned (the SDK prints warnings to the console under mocks). */
async function warnings(run: () => Promise<ProgramRun>): Promise<{ run: ProgramRun; warned: string[] }> {
  const spy = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    const result = await run();
    return { run: result, warned: spy.mock.calls.map((c) => String(c[0])) };
  } finally {
    spy.mockRestore();
  }
}

describe("the program", () => {
  test("warns about exactly the leaves within 30 days of their end, read from each certificate's state", async () => {
    // As the engine hands the program an untouched certificate's state, in a preview as in an up.
    const { warned } = await warnings(() =>
      runProgram(
        {},
        {
          adjust: (r) =>
            r.type === "tls:index/locallySignedCert:LocallySignedCert"
              ? {
                  ...r,
                  state: {
                    ...r.state,
                    validityEndTime: new Date(
                      Date.now() +
                        (r.name === "tikv-dev-cluster-tls-tikv2-cert"
                          ? 12
                          : r.name === "tikv-dev-pki-operator-cert"
                            ? -1
                            : 200) *
                          DAY,
                    ).toISOString(),
                  },
                }
              : r,
        },
      ),
    );
    const expiry = warned.filter((w) => w.includes("renew it with `pulumi up --refresh`"));
    expect(expiry).toHaveLength(2);
    expect(expiry.find((w) => w.includes("tikv-dev-cluster-tls-tikv2-cert (CN "))).toMatch(/, in 1[12] day\(s\)/);
    expect(expiry.find((w) => w.includes("tikv-dev-pki-operator-cert (CN operator)"))).toMatch(/EXPIRED/);
  });

  test("a fresh stack's certificates (a year) warn about nothing", async () => {
    const { warned } = await warnings(() =>
      runProgram(
        {},
        {
          adjust: (r) =>
            r.type.startsWith("tls:index/") && r.state.validityPeriodHours !== undefined
              ? {
                  ...r,
                  state: {
                    ...r.state,
                    validityEndTime: new Date(
                      Date.now() + Number(r.state.validityPeriodHours) * 3_600_000,
                    ).toISOString(),
                  },
                }
              : r,
        },
      ),
    );
    expect(LEAF_VALIDITY_HOURS / 24).toBeGreaterThan(EXPIRY_WARNING_DAYS);
    expect(warned.filter((w) => /certificate .* (expires|EXPIRED)/.test(w))).toEqual([]);
  });
});

describeWithTools(["openssl"], "protect: true holding a renewal back", () => {
  const dir = tempDir("held-expiry");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the CVM's booted certificate, read from its recorded user data, is named with its end and the steps", async () => {
    const ecdsa = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };
    const ca = issue(dir, "ca", { commonName: "ca", allowedUses: ["cert_signing"], isCa: true, ...ecdsa });
    const server = issue(
      dir,
      "server",
      {
        commonName: "tikv-host-2",
        allowedUses: ["digital_signature", "server_auth"],
        ...ecdsa,
        validity: { from: new Date(Date.now() - 300 * DAY), to: new Date(Date.now() + 9 * DAY) },
      },
      ca,
    );
    const booted = encodeUserData(
      renderCloudConfig({
        caCertPem: ca.certPem,
        serverCertPem: server.certPem,
        serverKeyPem: server.keyPem,
        registryMirrors: [],
        dataDisk: { id: "disk-2", waitSeconds: 450 },
      }),
    );
    // The oracle for the reader: openssl's own view of the certificate's end.
    const notAfter = execFileSync("openssl", ["x509", "-noout", "-enddate", "-in", server.certPath], {
      encoding: "utf8",
    });
    expect(bootedServerCertValidTo(booted)).toBe(new Date(notAfter.trim().replace(/^notAfter=/, "")).toISOString());

    const prod = await runProgram({ "tikv-cvm:protect": "true" });
    const rollout = unwrap(prod.outputs.hostRollout) as Record<string, DeployedHost>;
    const last = lastOutputsOf(prod, undefined, {
      hostRollout: { ...rollout, "tikv-host-2": { ...rollout["tikv-host-2"], userData: booted } },
    });
    const { run, warned } = await warnings(() => runProgram({ "tikv-cvm:protect": "true" }, { lastOutputs: last }));
    const held = warned.filter((w) => w.includes("holds its renewal back"));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatch(
      /^warning: \[runtime\] tikv-host-2: the Docker server certificate it booted with expires .*, in [89] day\(s\)/,
    );
    // Prometheus's alert for that host follows the certificate it serves, not the one held back.
    const uploads = unwrap(byName(run, "tikv-dev-monitoring-prometheus").inputs.uploads) as {
      file: string;
      content: string;
    }[];
    const rules = (
      parse(uploads.find((u) => u.file === ALERT_RULES_PATH)!.content) as {
        groups: { name: string; rules: { labels: Record<string, string> }[] }[];
      }
    ).groups.find((g) => g.name === "tikv-cvm-certificates")!.rules;
    const servers = Object.fromEntries(
      rules
        .filter((r) => /Docker server/.test(r.labels.certificate))
        .map((r) => [r.labels.certificate, r.labels.not_after]),
    );
    expect(servers["tikv-host-2 Docker server"]).toBe(bootedServerCertValidTo(booted));
    expect(servers["tikv-host-1 Docker server"]).not.toBe(bootedServerCertValidTo(booted));
  });
});

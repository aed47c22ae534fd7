// A CA rotation, deployment by deployment, as far as the inputs go: which CA signs each leaf, which
// CAs each party trusts (Docker daemons, the Docker provider, PD/TiKV, the gates), and, with real
// openssl certificates made from the program's own specs, that every party keeps trusting every
// certificate it can meet while a rolling deployment is half done.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ProgramRun, byName, ofType, runProgram, unwrap } from "./support/harness";
import { mockState } from "./support/mocks";
import { CA_VALIDITY_HOURS, LEAF_EARLY_RENEWAL_HOURS, LEAF_VALIDITY_HOURS } from "../lib/certificates";
import { Issued, issue, tempDir } from "./support/openssl";
import { certSpec, renderedHosts, writtenFile } from "./support/program";
import { describeWithTools } from "./support/tools";

const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const CA_CERT = "tls:index/selfSignedCert:SelfSignedCert";
const KEY = "tls:index/privateKey:PrivateKey";
const step = (generation: number, rotation = "") => ({
  "tikv-cvm:caGeneration": String(generation),
  "tikv-cvm:caRotation": rotation,
});

interface Phase {
  label: string;
  run: ProgramRun;
  trusted: number[];
  issuing: number;
}

/** The CA generation a resource name stands for: tikv-dev-pki-ca -> 1, tikv-dev-pki-ca2(-key) -> 2. */
const generationOf = (name: string) => Number(/-ca(\d*)(-key)?$/.exec(name)![1] || "1");

/** The two trust domains: the Docker CA (tikv-dev-pki-ca...) and the cluster CA (tikv-dev-cluster-tls-ca...). */
const DOMAINS = { docker: "tikv-dev-pki-", cluster: "tikv-dev-cluster-tls-" } as const;
type Domain = keyof typeof DOMAINS;
const domainOf = (name: string): Domain => (name.startsWith(DOMAINS.cluster) ? "cluster" : "docker");

/** Generations in a trust bundle, in order, all of `domain`; the mocks derive each CA's PEM from its name. */
function bundleGenerations(run: ProgramRun, bundle: string, domain: Domain): number[] {
  const cas = ofType(run, CA_CERT).map((c) => ({
    name: c.name,
    g: generationOf(c.name),
    pem: String(mockState(CA_CERT, c.name, {}).certPem),
  }));
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)].map((m) => {
    const found = cas.find((c) => c.pem === m[0]);
    if (!found) throw new Error("a bundle certificate matches no CA the run declares");
    if (domainOf(found.name) !== domain) throw new Error(`${found.name} in the ${domain} bundle`);
    return found.g;
  });
}

/** The CA (domain and generation) whose private key signs a leaf. */
function signer(run: ProgramRun, leafCert: string): { domain: Domain; generation: number } {
  const key = unwrap(byName(run, leafCert).inputs.caPrivateKeyPem);
  const owner = ofType(run, KEY).find(
    (k) => /-ca\d*-key$/.test(k.name) && mockState(KEY, k.name, {}).privateKeyPem === key,
  );
  if (!owner) throw new Error(`${leafCert} is signed by no CA key`);
  return { domain: domainOf(owner.name), generation: generationOf(owner.name) };
}

let phases: Phase[] = [];
beforeAll(async () => {
  const steady1 = await runProgram(step(1));
  const trustNext = await runProgram(step(1, "trust-next"), { lastOutputs: steady1.outputs });
  const newIssues = await runProgram(step(2, "trust-previous"), { lastOutputs: trustNext.outputs });
  const steady2 = await runProgram(step(2), { lastOutputs: newIssues.outputs });
  phases = [
    { label: "steady at CA 1", run: steady1, trusted: [1], issuing: 1 },
    { label: "1. CA 2 trusted, CA 1 issues", run: trustNext, trusted: [1, 2], issuing: 1 },
    { label: "2. CA 2 issues, CA 1 trusted", run: newIssues, trusted: [2, 1], issuing: 2 },
    { label: "3. CA 1 dropped", run: steady2, trusted: [2], issuing: 2 },
  ];
});

test("each step trusts and issues what the procedure says, in both trust domains, everywhere", () => {
  for (const p of phases) {
    const where = p.label;
    const docker = p.run.outputs.caCertPem as string;
    const cluster = p.run.outputs.clusterCaCertPem as string;
    expect([where, bundleGenerations(p.run, docker, "docker"), bundleGenerations(p.run, cluster, "cluster")]).toEqual([
      where,
      p.trusted,
      p.trusted,
    ]);
    // Every leaf is signed by its own domain's issuing CA, with that CA's own certificate as issuer.
    for (const leaf of ofType(p.run, SIGNED)) {
      const domain = domainOf(leaf.name);
      expect([where, leaf.name, signer(p.run, leaf.name)]).toEqual([
        where,
        leaf.name,
        { domain, generation: p.issuing },
      ]);
      expect(bundleGenerations(p.run, unwrap(leaf.inputs.caCertPem) as string, domain)).toEqual([p.issuing]);
    }
    // Docker daemons (user data) and the Docker providers trust the Docker bundle ...
    for (const host of renderedHosts(p.run))
      expect([where, writtenFile(host.cloudConfig, "/etc/docker/tls/ca.pem")]).toEqual([where, docker]);
    for (const i of [1, 2, 3])
      expect([where, unwrap(byName(p.run, `tikv-dev-${i}-docker`).inputs.caMaterial)]).toEqual([where, docker]);
    // ... PD and TiKV (uploads) and the rollout gates the cluster bundle.
    for (const c of ofType(p.run, "docker:index/container:Container").filter((x) => /-(pd|tikv)\d$/.test(x.name))) {
      const uploads = unwrap(c.inputs.uploads) as { file: string; content: string }[];
      expect([where, c.name, uploads.find((u) => u.file.endsWith("/ca.pem"))!.content]).toEqual([
        where,
        c.name,
        cluster,
      ]);
    }
    for (const g of ofType(p.run, "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate")) {
      expect([where, g.name, (unwrap(g.inputs.tls) as { caPem: string }).caPem]).toEqual([where, g.name, cluster]);
    }
  }
});

test("every certificate follows the policy: leaves a year with early renewal, CAs five years and never renewed", () => {
  const run = phases[0].run;
  const leaves = ofType(run, SIGNED);
  expect(leaves.length).toBeGreaterThan(8);
  for (const l of leaves) {
    expect([l.name, l.inputs.validityPeriodHours, l.inputs.earlyRenewalHours]).toEqual([
      l.name,
      LEAF_VALIDITY_HOURS,
      LEAF_EARLY_RENEWAL_HOURS,
    ]);
  }
  for (const c of ofType(run, CA_CERT)) {
    expect([c.name, c.inputs.validityPeriodHours, c.inputs.earlyRenewalHours]).toEqual([
      c.name,
      CA_VALIDITY_HOURS,
      undefined,
    ]);
  }
});

test("each step after the first rolls the hosts one at a time (the trust bundle is in their user data)", () => {
  for (const p of phases.slice(1)) {
    for (const i of [1, 2, 3]) {
      expect([p.label, p.run.options.get(`tikv-dev-cluster-tikv-host-${i}-before`)!.dependsOn]).toEqual([
        p.label,
        i === 1 ? [] : [`tikv-dev-cluster-tikv-host-${i - 1}-after`],
      ]);
    }
  }
});

test("a jump that skips a step is refused before anything is declared, naming the next step", async () => {
  await expect(runProgram(step(2), { lastOutputs: phases[0].run.outputs })).rejects.toThrow(
    /tikv-cvm:caGeneration: the CA cannot go from caGeneration 1 to caGeneration 2.*next step is caGeneration 1, caRotation trust-next/,
  );
});

describeWithTools(["openssl"], "with real certificates (openssl), while each rolling step is half done", () => {
  const dir = tempDir("ca-rotation");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const verifies = (bundle: Issued[], leaf: Issued): boolean => {
    const file = path.join(dir, `bundle-${bundle.map((b) => path.basename(b.certPath)).join("+")}`);
    fs.writeFileSync(file, bundle.map((b) => b.certPem).join(""));
    return spawnSync("openssl", ["verify", "-CAfile", file, leaf.certPath]).status === 0;
  };

  test("every party trusts every certificate it can meet, old or new, at every step", () => {
    const run = phases[2].run;
    const cas = new Map(
      [1, 2].map((g) => [
        g,
        issue(dir, `ca${g}`, certSpec(run, g === 1 ? "tikv-dev-pki-ca" : "tikv-dev-pki-ca2", "ca")),
      ]),
    );
    const hostSpec = certSpec(run, "tikv-dev-cluster-tls-tikv1", "leaf");
    const leaves = new Map([1, 2].map((g) => [g, issue(dir, `leaf${g}`, hostSpec, cas.get(g))]));
    for (let i = 1; i < phases.length; i++) {
      const before = phases[i - 1];
      const after = phases[i];
      // Mid-roll, a rolled party (after) and one not rolled yet (before) each verify the other's leaf.
      const pairs: [number[], number][] = [
        [after.trusted, before.issuing],
        [before.trusted, after.issuing],
      ];
      for (const [trusted, issuer] of pairs) {
        expect([
          after.label,
          trusted,
          issuer,
          verifies(
            trusted.map((g) => cas.get(g)!),
            leaves.get(issuer)!,
          ),
        ]).toEqual([after.label, trusted, issuer, true]);
      }
    }
    // The oracle can say no: the refused jump (CA 2 issuing while unrolled parties trust only CA 1).
    expect(verifies([cas.get(1)!], leaves.get(2)!)).toBe(false);
  });
});

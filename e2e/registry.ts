// A private registry for the own-build step, as a user's Tencent Container Registry would be: the
// Docker Distribution registry (Debian's docker-registry, distribution 2.8.2) in a network
// namespace of its own on the test bridge, serving HTTPS with a certificate from a CA of the
// test's, and refusing every request without the right basic-auth credentials (htpasswd, bcrypt:
// distribution registry/auth/htpasswd/htpasswd.go accepts only bcrypt entries).
//
// The hosts' engines trust that CA through /etc/docker/certs.d/<host:port>/ca.crt, which dockerd
// reads on every connection to the registry (moby registry/registry.go newTLSConfig ->
// loadTLSConfig, *.crt as roots; registry/config_unix.go defaultCertsDir), so nothing in the
// hosts' daemon.json changes: they stay the program's, and the pull is verified TLS as against a
// real registry. (The alternative, an `insecure-registries` entry, would put a setting no CVM
// has into every host's daemon.json and send the credentials without TLS.) The directory is the
// machine's, shared by every dockerd here: the address is the test network's own, and `stop`
// and `cleanUp` remove it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { issue } from "../test/support/openssl";
import { SUBNET, joinNetwork, removeNamespace, startInNamespace } from "./hosts";
import { log, run, waitFor } from "./util";

const NETNS = "tkve2e-reg";
const ADDRESS = `${SUBNET}.5`;
const PORT = 5000;
/** host:port, the first component of the image references and the provider's registryAuth address. */
export const REGISTRY_HOST = `${ADDRESS}:${PORT}`;
const CERTS_D = path.join("/etc/docker/certs.d", REGISTRY_HOST);

export class TestRegistry {
  /** The account a user pushes and the program pulls with. */
  readonly username = "e2e-builder";

  private constructor(
    private readonly dir: string,
    /** Random per run, so finding it anywhere can only mean it was copied there. */
    readonly password: string,
  ) {}

  /** Removes what an interrupted run left outside the test's namespaces and directory. */
  static cleanUp(): void {
    fs.rmSync(CERTS_D, { recursive: true, force: true });
  }

  /** Certificates, htpasswd, config, the registry started and answering (about a second). */
  static async start(workDir: string): Promise<TestRegistry> {
    const dir = path.join(workDir, "registry");
    fs.mkdirSync(dir, { recursive: true });
    const ca = issue(dir, "registry-ca", {
      commonName: "tikv-cvm e2e registry CA",
      allowedUses: ["cert_signing", "crl_signing"],
      isCa: true,
      algorithm: "ECDSA",
      ecdsaCurve: "P256",
    });
    const server = issue(
      dir,
      "registry",
      {
        commonName: "e2e-registry",
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        ipAddresses: [ADDRESS],
        algorithm: "ECDSA",
        ecdsaCurve: "P256",
      },
      ca,
    );
    const registry = new TestRegistry(dir, crypto.randomBytes(18).toString("base64url"));
    const htpasswd = path.join(dir, "htpasswd");
    run("htpasswd", ["-B", "-i", "-c", htpasswd, registry.username], { input: registry.password });
    // JSON is YAML: the registry's configuration (distribution configuration/configuration.go).
    const config = {
      version: "0.1",
      log: { level: "warn" },
      storage: { filesystem: { rootdirectory: path.join(dir, "data") } },
      http: { addr: REGISTRY_HOST, tls: { certificate: server.certPath, key: server.keyPath } },
      auth: { htpasswd: { realm: "tikv-cvm-e2e", path: htpasswd } },
    };
    const configPath = path.join(dir, "config.yml");
    fs.writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    fs.mkdirSync(CERTS_D, { recursive: true });
    fs.copyFileSync(ca.certPath, path.join(CERTS_D, "ca.crt"));

    joinNetwork(NETNS, ADDRESS);
    startInNamespace(NETNS, ["docker-registry", "serve", configPath], path.join(dir, "registry.log"));
    // Up when an anonymous request is refused as the registry refuses it (401 on /v2/).
    await waitFor(`the registry on ${REGISTRY_HOST}`, 30_000, () => status(ca.certPem), 250);
    log(`registry: https://${REGISTRY_HOST} (basic auth, TLS from its own CA)`);
    return registry;
  }

  /**
   * As a user publishes a build: `docker login`, `docker push`, `docker logout` through one
   * host's engine (the credentials in a throwaway client config), then the tag removed there, so
   * every host must pull it. Returns the pushed manifest's digest.
   */
  push(env: NodeJS.ProcessEnv, reference: string): string {
    const client = fs.mkdtempSync(path.join(this.dir, "client-"));
    const cli = { ...env, DOCKER_CONFIG: client };
    try {
      run("docker", ["login", "--username", this.username, "--password-stdin", REGISTRY_HOST], {
        env: cli,
        input: this.password,
      });
      const out = run("docker", ["push", reference], { env: cli }).stdout;
      run("docker", ["logout", REGISTRY_HOST], { env: cli });
      run("docker", ["rmi", reference], { env: cli });
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
      if (!digest) throw new Error(`docker push ${reference} printed no digest: ${out}`);
      return digest;
    } finally {
      fs.rmSync(client, { recursive: true, force: true });
    }
  }

  stop(): void {
    removeNamespace(NETNS);
    TestRegistry.cleanUp();
  }
}

/** True once /v2/ answers 401 (the registry is up and demands credentials). */
function status(caPem: string): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = https.get({ host: ADDRESS, port: PORT, path: "/v2/", ca: caPem, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 401 ? true : undefined);
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
  });
}

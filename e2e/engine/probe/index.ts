// The engine probe: one resource from each plugin e2e/engine.sh makes available (tls, random,
// docker), a dynamic resource (pulumi-resource-pulumi-nodejs) and a StackReference to the stack
// itself, as the tikv-cvm program uses them. Run by probe.sh, never deployed by users.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";

const config = new pulumi.Config();

const key = new tls.PrivateKey("probe-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const cert = new tls.SelfSignedCert("probe-cert", {
  privateKeyPem: key.privateKeyPem,
  subject: { commonName: "engine-probe" },
  validityPeriodHours: 24,
  allowedUses: ["cert_signing", "digital_signature"],
  isCaCertificate: true,
});
const password = new random.RandomPassword("probe-password", { length: 24, special: false });

const engine = new docker.Provider("probe-docker", { host: config.require("dockerHost") });
const volume = new docker.Volume(
  "probe-volume",
  {
    name: "engine-probe-volume",
    labels: [{ label: "tikv-cvm.probe", value: "true" }],
  },
  { provider: engine },
);

interface EchoInputs {
  value: string;
}
const echo: pulumi.dynamic.ResourceProvider<EchoInputs, EchoInputs> = {
  async create(inputs) {
    return { id: `echo-${inputs.value}`, outs: { value: inputs.value.toUpperCase() } };
  },
};
class Echo extends pulumi.dynamic.Resource {
  public readonly value!: pulumi.Output<string>;
  constructor(name: string, value: pulumi.Input<string>) {
    super(echo, name, { value }, {}, "tikv-cvm", "EngineProbeEcho");
  }
}
const dynamic = new Echo("probe-echo", "dynamic");

const self = new pulumi.StackReference("probe-self", {
  name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
});

export const certPem = cert.certPem;
export const keyIsSecret = pulumi.isSecret(key.privateKeyPem);
export const passwordLength = password.result.apply((r) => r.length);
export const volumeName = volume.name;
export const echoed = dynamic.value;
// Undefined on the first deployment, the previous certPem afterwards.
export const previousCertPem = self.getOutput("certPem");

// Serializes the readiness provider the way the engine does for a dynamic resource.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { dockerReadyProvider } from "../../components/dockerReady";
import { tempDir } from "./openssl";

export interface SerializedProvider {
  readonly text: string;
  readonly containsSecrets: boolean;
  /** Loads the text as a module, as the engine's dynamic provider host does, and returns the provider. */
  load(): typeof dockerReadyProvider;
}

export async function serializeReadyProvider(): Promise<SerializedProvider> {
  // Same call as @pulumi/pulumi's dynamic.Resource (serializeFunctionMaybeSecret).
  const sf = await pulumi.runtime.serializeFunction(() => dockerReadyProvider, { allowSecrets: true });
  return {
    text: sf.text,
    containsSecrets: sf.containsSecrets,
    load() {
      const dir = tempDir("serialized");
      const file = path.join(dir, "provider.js");
      fs.writeFileSync(file, sf.text);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file) as Record<string, () => typeof dockerReadyProvider>;
      return mod[sf.exportName]();
    },
  };
}

/** Any dynamic provider, serialized as the engine does it and loaded back as the engine's host would. */
export async function serializeProvider<T>(
  provider: T,
): Promise<{ text: string; containsSecrets: boolean; load(): T }> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return {
    text: sf.text,
    containsSecrets: sf.containsSecrets,
    load() {
      const file = path.join(tempDir("serialized"), "provider.js");
      fs.writeFileSync(file, sf.text);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file) as Record<string, () => T>;
      return mod[sf.exportName]();
    },
  };
}

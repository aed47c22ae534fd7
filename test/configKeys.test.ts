// lib/configKeys.ts is the one table of config keys; Pulumi.yaml's `config:` block and the README's
// configuration table are checked against it here, so a key added, dropped or changed in one place
// and not the others fails.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  CONFIG_KEYS,
  CONFIG_KEY_NAMES,
  MODES,
  PROJECT,
  declaredDefaultText,
  readKeys,
  readmeDefault,
  readmeModes,
  specOf,
} from "../lib/configKeys";
import { describeProblems, validateConfig } from "../lib/settings";

const ROOT = path.join(__dirname, "..");
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), "utf8");

describe("Pulumi.yaml's config block", () => {
  const project = parse(read("Pulumi.yaml")) as { name: string; config: Record<string, Record<string, unknown>> };
  const declared = project.config;

  test("declares exactly the table's keys, in its order", () => {
    expect(project.name).toBe(PROJECT);
    expect(Object.keys(declared)).toEqual(CONFIG_KEY_NAMES.map((k) => `${PROJECT}:${k}`));
  });

  test.each(CONFIG_KEY_NAMES)("%s: the table's default and help, and nothing else", (key) => {
    const spec = specOf(key);
    expect(declared[`${PROJECT}:${key}`]).toEqual({ default: spec.default, description: spec.help });
  });

  // docs/config.md: the CLI checks a declared `type` (and `secret`) before the program runs and stops
  // at the first mismatch with its own message (sdk/go/common/workspace/config.go,
  // validateStackConfigValue, only for IsExplicitlyTyped keys), which would hide the program's.
  test("declares no type, items or secret, so the CLI never answers for the program", () => {
    for (const [key, declaration] of Object.entries(declared)) {
      expect([key, Object.keys(declaration).filter((field) => !["default", "description"].includes(field))]).toEqual([
        key,
        [],
      ]);
    }
  });
});

describe("the table itself", () => {
  // The CLI hands a key's declared default to the program when the stack does not set it
  // (config.go, mergeConfig): each must pass its own rule, except where the key is required.
  test.each(CONFIG_KEY_NAMES)(
    "%s: its default, as the CLI hands it over, passes its own rule unless required",
    (key) => {
      const spec = specOf(key);
      const reading = readKeys({ [key]: declaredDefaultText(key) }, (k) => k === key);
      const required = "required" in spec && spec.required !== undefined;
      expect([key, reading.refused.has(key)]).toEqual([key, required]);
    },
  );

  test("every help fits one README table cell; every key is read by some mode", () => {
    for (const key of CONFIG_KEY_NAMES) {
      const spec = specOf(key);
      expect([key, /[|\n]/.test(spec.help), spec.help.length > 10]).toEqual([key, false, true]);
      expect([key, spec.modes.length > 0 && spec.modes.every((m) => MODES.includes(m))]).toEqual([key, true]);
    }
  });

  test("names the disk size mode local sizes TiKV's reserve-space for: dataDiskSize's minimum", () => {
    const local = validateConfig({
      values: { mode: "local", hostMemoryGiB: "8" },
      hasSecretId: false,
      hasSecretKey: false,
    });
    if (!local.ok) throw new Error(describeProblems(local.problems));
    expect(local.settings.diskGB).toBe(CONFIG_KEYS.dataDiskSize.min);
  });
});

describe("README's configuration table", () => {
  const lines = read("README.md").split("\n");
  const header = lines.indexOf("| key | modes | default | rule / meaning |");
  const rows: string[][] = [];
  for (let i = header + 2; header >= 0 && lines[i]?.startsWith("|"); i++) {
    rows.push(
      lines[i]
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  }

  test("lists exactly the table's keys, in its order", () => {
    expect(header).toBeGreaterThan(0);
    expect(rows.map((r) => r[0])).toEqual(CONFIG_KEY_NAMES.map((k) => `\`${k}\``));
  });

  test.each(CONFIG_KEY_NAMES)("%s: the table's modes, default and help", (key) => {
    const row = rows.find((r) => r[0] === `\`${key}\``);
    expect(row).toEqual([`\`${key}\``, readmeModes(key), readmeDefault(key), specOf(key).help]);
  });
});

// Item 5 of issue 14, at unit level (the real engine proves it in e2e/scenarios.ts, configProblems):
// mistyped values of every kind come back together, each naming its key and the fix.
test("a mistyped number, list and boolean are all reported together, each with its fix", () => {
  const result = validateConfig({
    values: { availabilityZone: "ap-guangzhou-3", nodeCount: "abc", operatorCidrs: "5.6.7.8/32", monitoring: "yes" },
    region: "ap-guangzhou",
    hasSecretId: true,
    hasSecretKey: true,
  });
  if (result.ok) throw new Error("expected refusals");
  expect(result.problems).toEqual([
    {
      key: "tikv-cvm:nodeCount",
      message: expect.stringMatching(
        /whole number from 3 to 20.*got "abc"; fix with: pulumi config set tikv-cvm:nodeCount 3$/,
      ),
    },
    {
      key: "tikv-cvm:operatorCidrs",
      message: expect.stringMatching(
        /must be a list of strings.*pulumi config set --path 'tikv-cvm:operatorCidrs\[0\]'/,
      ),
    },
    {
      key: "tikv-cvm:monitoring",
      message: 'must be true or false; got "yes"; fix with: pulumi config set tikv-cvm:monitoring true',
    },
  ]);
});

// The committed dev stack carries a documentation address (RFC 5737) as the operator placeholder;
// a user who skips replacing it must be stopped before anything is created, told the key and the fix.
test("Pulumi.dev.yaml's placeholder operator address is refused, naming the key and the command that fixes it", () => {
  const stack = parse(read("Pulumi.dev.yaml")) as { config: Record<string, unknown> };
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(stack.config)) {
    if (k.startsWith(`${PROJECT}:`))
      values[k.slice(PROJECT.length + 1)] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const region = String(stack.config["tencentcloud:region"]);
  const result = validateConfig({ values, region, hasSecretId: true, hasSecretKey: true });
  if (result.ok) throw new Error("Pulumi.dev.yaml's operator placeholder was accepted");
  expect(result.problems).toEqual([
    {
      key: "tikv-cvm:operatorCidrs",
      message: expect.stringMatching(
        /^"203\.0\.113\.10\/32" overlaps 203\.0\.113\.0\/24: documentation .*placeholder.*put your own address there: pulumi config set --path 'tikv-cvm:operatorCidrs\[0\]' "\$\(curl -4 -s https:\/\/ifconfig\.me\)\/32"/,
      ),
    },
  ]);
  // Replaced, the same file passes: the placeholder is its only problem.
  expect(
    validateConfig({
      values: { ...values, operatorCidrs: JSON.stringify(["5.6.7.8/32"]) },
      region,
      hasSecretId: true,
      hasSecretKey: true,
    }).ok,
  ).toBe(true);
});

// Tests that need a real tool: under CI (CI=true) a missing tool fails the run instead of skipping.
import { spawnSync } from "child_process";

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/**
 * `describe` when every tool is present; otherwise `describe.skip` locally, and a failing test
 * under CI so a CI machine without the tool cannot pass silently.
 */
export function describeWithTools(tools: string[], title: string, body: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) {
    describe(title, body);
  } else if (process.env.CI === "true") {
    describe(title, () => {
      test(`needs ${missing.join(", ")}`, () => {
        throw new Error(`${missing.join(", ")} not installed; .ci/run installs them (apt-get install -y docker.io cloud-init shellcheck busybox-static wget jq)`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${missing.join(", ")} not installed)`, body);
  }
}

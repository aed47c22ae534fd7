// The GitHub workflows: valid against the workflow schema (@action-validator/core, SchemaStore's
// github-workflow schema), and wired the way the README says.
import * as fs from "fs";
import * as path from "path";
import { validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";

const dir = path.join(__dirname, "..", ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Workflow { on: Record<string, unknown>; jobs: Record<string, { needs?: string; steps: Step[] }> }

const load = (file: string) => parse(fs.readFileSync(path.join(dir, file), "utf8")) as Workflow;
const pulumiStep = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("pulumi/actions@"))!;

test.each(files)("%s is a valid workflow", (file) => {
  expect(validateWorkflow(fs.readFileSync(path.join(dir, file), "utf8")).errors).toEqual([]);
});

test("the validator rejects a broken workflow (the check can fail)", () => {
  const broken = fs.readFileSync(path.join(dir, files[0]), "utf8").replace("runs-on:", "runs_on:");
  expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
});

test("pull requests run the tests, then preview with a PR comment and the policy pack", () => {
  const wf = load("pull-request.yml");
  expect(Object.keys(wf.on)).toEqual(["pull_request"]);
  expect(wf.jobs.test.steps.some((s) => s.run?.includes("bash .ci/run"))).toBe(true);
  expect(wf.jobs.preview.needs).toBe("test");
  const step = pulumiStep(wf);
  expect(step.uses).toBe("pulumi/actions@v7");
  expect(step.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policy" });
});

test("pushes to main deploy the dev stack after the tests", () => {
  const wf = load("deploy-dev.yml");
  expect(wf.on).toEqual({ push: { branches: ["main"] } });
  expect(wf.jobs.up.needs).toBe("test");
  expect(pulumiStep(wf).with).toMatchObject({ command: "up" });
});

test.each(["pull-request.yml", "deploy-dev.yml"])("%s takes credentials from repository secrets named in the README", (file) => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  const env = pulumiStep(load(file)).env!;
  for (const name of ["PULUMI_ACCESS_TOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"]) {
    expect(env[name]).toBe(`\${{ secrets.${name} }}`);
    expect(readme).toContain(name);
  }
});

// The GitHub workflows: valid against the workflow schema (@action-validator/core, SchemaStore's
// github-workflow schema), and wired the way the README says.
import * as fs from "fs";
import * as path from "path";
import { validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";

const dir = path.join(__dirname, "..", ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string;
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (file: string) => parse(fs.readFileSync(path.join(dir, file), "utf8")) as Workflow;
const pulumiStep = (wf: Workflow) =>
  Object.values(wf.jobs)
    .flatMap((j) => j.steps)
    .find((s) => s.uses?.startsWith("pulumi/actions@"))!;

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
  expect(step.uses).toBe("pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d");
  expect(step.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policy" });
});

test("pushes to main deploy the dev stack after the tests", () => {
  const wf = load("deploy-dev.yml");
  expect(wf.on).toEqual({ push: { branches: ["main"] } });
  expect(wf.jobs.up.needs).toBe("test");
  expect(pulumiStep(wf).with).toMatchObject({ command: "up" });
});

test.each(["pull-request.yml", "deploy-dev.yml"])(
  "%s takes credentials from repository secrets named in the README",
  (file) => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const env = pulumiStep(load(file)).env!;
    for (const name of ["PULUMI_ACCESS_TOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"]) {
      expect(env[name]).toBe(`\${{ secrets.${name} }}`);
      expect(readme).toContain(name);
    }
  },
);

test.each(files)("%s pins every action by commit SHA, tag in a comment", (file) => {
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  const uses = [...text.matchAll(/uses:\s*(\S+)(.*)$/gm)];
  expect(uses.length).toBeGreaterThan(0);
  for (const [, ref, rest] of uses) {
    expect([ref, /@[0-9a-f]{40}$/.test(ref), /# v\d+\.\d+\.\d+/.test(rest)]).toEqual([ref, true, true]);
  }
});

test.each(files)("%s grants only read access by default, never runs for pull_request_target", (file) => {
  const wf = load(file);
  expect(wf.permissions).toEqual({ contents: "read" });
  expect(Object.keys(wf.on)).not.toContain("pull_request_target");
  for (const [name, job] of Object.entries(wf.jobs)) {
    const writes = Object.entries(job.permissions ?? {})
      .filter(([, v]) => v === "write")
      .map(([k]) => k);
    // Only the PR preview writes, and only its comment.
    expect([name, writes]).toEqual([name, name === "preview" ? ["pull-requests"] : []]);
    for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/checkout@")))
      expect(step.with).toMatchObject({ "persist-credentials": false });
  }
});

test("credentials reach only the jobs in an environment: previews (never forks) in preview, deploys in dev", () => {
  const pr = load("pull-request.yml");
  expect(pr.jobs.preview.environment).toBe("preview");
  expect(pr.jobs.preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  expect(load("deploy-dev.yml").jobs.up.environment).toBe("dev");
  for (const wf of [pr, load("deploy-dev.yml")]) {
    for (const job of Object.values(wf.jobs)) {
      const usesSecrets = JSON.stringify(job.steps).includes("secrets.");
      expect(usesSecrets ? job.environment !== undefined : true).toBe(true);
    }
  }
});

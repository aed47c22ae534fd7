// Item: Grafana on a release without the 2025 CVEs of the 11.6 line. The oracle is the advisories'
// own statements of where each fix first shipped on the 11.6 line, kept here as data.
import { GRAFANA_IMAGE } from "../lib/monitoringConfig";

type Version = [number, number, number];

function parse(v: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[+-]security-\d+)?$/.exec(v);
  if (!m) throw new Error(`not a Grafana version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const atLeast = (a: Version, b: Version) => (a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] >= b[2]);

/** The first regular 11.6 release carrying each fix (a +security-01 build of x.y.z precedes x.y.(z+1)). */
const FIXED_ON_11_6: Record<string, { firstRegular: string; source: string }> = {
  // GHSA-q53q-gxq9-mgrj: "Fixed in ... 11.6.1+security-01"; CHANGELOG "11.6.1+security-01 (2025-05-21): Fix CVE-2025-4123".
  "CVE-2025-4123": { firstRegular: "11.6.2", source: "GHSA-q53q-gxq9-mgrj" },
  // GHSA-vqph-p5vc-g644: "Fixed in ... 11.6.3+security-01"; CHANGELOG "11.6.4 (2025-07-23): Security: Fixes for CVE-2025-6197 and CVE-2025-6023" (#108281).
  "CVE-2025-6023": { firstRegular: "11.6.4", source: "GHSA-vqph-p5vc-g644" },
};

test("the Grafana image is pinned to an exact 11.6 release, never a moving tag", () => {
  const [repo, tag] = GRAFANA_IMAGE.split(":");
  expect(repo).toBe("grafana/grafana");
  expect(tag).toMatch(/^11\.6\.\d+$/);
});

test.each(Object.entries(FIXED_ON_11_6))("the pinned release carries the fix for %s", (_cve, fix) => {
  const tag = GRAFANA_IMAGE.split(":")[1];
  expect([fix.source, atLeast(parse(tag), parse(fix.firstRegular))]).toEqual([fix.source, true]);
});

test("the check itself refuses an affected release", () => {
  for (const affected of ["11.6.0", "11.6.1", "11.6.3"]) {
    expect(Object.values(FIXED_ON_11_6).every((f) => atLeast(parse(affected), parse(f.firstRegular)))).toBe(false);
  }
  expect(() => parse("latest")).toThrow(/not a Grafana version/);
});

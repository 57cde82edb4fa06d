#!/usr/bin/env node
// `pnpm release:check`: the whole release, end to end, against a throwaway registry on 127.0.0.1.
//
//  1. Copies the working tree to a temporary folder (the real repository's versions are never touched), installs
//     it from the pnpm store, applies the pending changesets (`changeset version`), builds, and lints every
//     published package (package.json rules, tarball contents, publint, Are The Types Wrong).
//  2. Starts Verdaccio on 127.0.0.1 and publishes with `changeset publish` (pnpm rewrites workspace: ranges).
//  3. In a clean npm project outside the workspace: installs every package from that registry with plain npm,
//     imports every entry point, type-checks a program against the installed .d.ts, runs a vitest file that
//     uses @mha/conformance/vitest, and runs `mha-conformance` against every installed @mha/backend-*.
//  4. A changeset bumps @mha/core (minor), versions, builds and publishes again; every package's latest
//     published ranges must admit the new core, and the clean project upgrades to it and passes conformance.
//  5. A changeset bumps @mha/core (major) and publishes again: every dependent must be republished with a
//     range that admits the new major (changesets' peer-dependency cascade).
// The registry is stopped in a `finally` and on SIGINT/SIGTERM (and exits by itself if this process dies).
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import semver from 'semver';
import { admits, cleanEnv, createConsumer, entrySpecifiers, installPackages, probeImports, runConformance, runVitestAdapter, scriptPolicy, typecheck } from './lib/consumer.mjs';
import { ensureVerdaccio, fetchPackument, startRegistry } from './lib/registry.mjs';
import { killRunning, logTarget, run } from './lib/run.mjs';
import { Steps } from './lib/steps.mjs';
import { copyHead, copyWorkingTree, publishedPackages, RUNTIME_DEP_FIELDS } from './lib/workspace.mjs';
import { formatLint, lintPackages } from './lint-packages.mjs';

const USAGE = `usage: node scripts/release/check.mjs [--head] [--keep]

  --head   check the last commit (git archive HEAD) instead of the working tree with its uncommitted edits
  --keep   keep the temporary folder (workspace copy, registry storage, clean project, log) for inspection`;

const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CORE = '@mha/core';

async function main() {
  const { values } = parseArgs({ options: { head: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const started = Date.now();
  const work = mkdtempSync(join(realpathSync(tmpdir()), 'mha-release-check-'));
  if (work.startsWith(repoRoot + sep)) throw new Error(`the temporary folder ${work} is inside the repository; set TMPDIR elsewhere`);
  logTarget.file = join(work, 'release-check.log');
  const ws = join(work, 'workspace');
  const consumer = join(work, 'consumer');
  console.log(`release check: ${repoRoot} -> ${work}`);

  /** @type {Awaited<ReturnType<typeof startRegistry>> | undefined} */
  let registry;
  const steps = new Steps();
  const onSignal = (signal) => {
    steps.aborted = true;
    console.log(`\n${signal}: stopping the registry and every command started by the check`);
    killRunning();
    (registry ? registry.stop() : Promise.resolve()).finally(() => {
      if (!values.keep) rmSync(work, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  /** @type {import('./lib/workspace.mjs').WorkspacePackage[]} */
  let published = [];
  let backends = [];
  let probes = [];
  const env = cleanEnv();
  let pubEnv = env;

  try {
    await steps.step('install verdaccio (scripts/release/registry)', async () => `verdaccio ${await ensureVerdaccio()}`);

    await steps.step('copy the workspace', async () => {
      const files = values.head ? await copyHead(repoRoot, ws) : await copyWorkingTree(repoRoot, ws);
      const git = ['-c', 'user.name=release check', '-c', 'user.email=release-check@localhost', '-c', 'commit.gpgsign=false'];
      await run('git', ['init', '-q', '-b', 'main'], { cwd: ws });
      await run('git', ['add', '-A'], { cwd: ws });
      await run('git', [...git, 'commit', '-q', '-m', 'snapshot for the release check'], { cwd: ws });
      const offline = await run('pnpm', ['install', '--frozen-lockfile', '--offline'], { cwd: ws, env, allowFailure: true });
      if (offline.code !== 0) await run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], { cwd: ws, env });
      return values.head ? `${files} files of HEAD` : `${files} files (tracked and untracked, not ignored)`;
    });

    await steps.step('changeset version (pending changesets)', async () => {
      const before = await publishedPackages(ws);
      const pending = pendingChangesets(ws);
      await run('pnpm', ['exec', 'changeset', 'version'], { cwd: ws, env });
      published = await publishedPackages(ws);
      return `${pending.length} pending changeset(s): ${pending.join(', ') || 'none'}\n${versionTable(before, published)}`;
    }, { needs: ['copy the workspace'] });

    await steps.step('build', async () => {
      await run('pnpm', ['run', 'build'], { cwd: ws, env });
      return `${published.length} packages to publish`;
    }, { needs: ['changeset version (pending changesets)'] });

    await steps.step('lint packages (package.json, tarball, publint, attw)', async () => {
      const results = await lintPackages(ws, join(work, 'packs'));
      const text = formatLint(results);
      appendFileSync(logTarget.file, `\n${text}\n`);
      const failed = results.filter((r) => r.findings.some((f) => f.level === 'error'));
      const warnings = results.reduce((n, r) => n + r.findings.filter((f) => f.level === 'warning').length, 0);
      if (failed.length > 0) throw new Error(`${failed.length} of ${results.length} packages are not ready to publish:\n${formatLint(results, { errorsOnly: true })}`);
      return `${results.length} packages clean (${warnings} warnings; \`pnpm release:lint\` lists them)`;
    }, { needs: ['build'] });

    await steps.step('start the registry on 127.0.0.1', async () => {
      registry = await startRegistry(join(work, 'registry'));
      const host = new URL(registry.url).host;
      // The copy's project .npmrc: everything this workspace publishes goes to the loopback registry.
      appendFileSync(join(ws, '.npmrc'), `\nregistry=${registry.url}\n@mha:registry=${registry.url}\n//${host}/:_authToken=${registry.token}\n`);
      pubEnv = cleanEnv({ npm_config_registry: registry.url, 'npm_config_@mha:registry': registry.url });
      for (const [tool, key] of [['pnpm', 'registry'], ['npm', 'registry'], ['npm', '@mha:registry']]) {
        const { stdout } = await run(tool, ['config', 'get', key], { cwd: ws, env: pubEnv });
        if (stdout.trim().replace(/\/?$/, '/') !== registry.url) throw new Error(`${tool} config get ${key} in the copy says ${stdout.trim()}, not ${registry.url}: refusing to publish`);
      }
      return registry.url;
    }, { needs: ['copy the workspace'] });

    await steps.step('changeset publish', () => publish(ws, pubEnv, registry.url, published), { needs: ['build', 'start the registry on 127.0.0.1'] });

    await steps.step('registry holds what the workspace versioned', async () => {
      const problems = await registryProblems(registry.url, published);
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return `${published.length} packages at their workspace versions, no workspace: ranges`;
    }, { needs: ['changeset publish'] });

    await steps.step('clean project: npm install from the registry', async () => {
      await createConsumer(consumer, registry.url);
      // Optional peers from outside @mha (onnxruntime-web for @mha/backend-onnxruntime/web, tfjs's GPU backends):
      // npm does not install them, the READMEs tell users of the entries that need them to, and the next step
      // imports every entry point.
      const optionalPeers = [...new Set(published.flatMap((p) => Object.entries(p.json.peerDependenciesMeta ?? {}).filter(([name, meta]) => meta?.optional && !name.startsWith('@mha/')).map(([name]) => `${name}@${p.json.peerDependencies[name]}`)))];
      const installed = await installPackages(consumer, registry.url, [...published.map((p) => `${p.name}@${p.version}`), ...optionalPeers]);
      return `${[...installed.keys()].length} @mha packages from ${registry.url}, the rest from the public registry (optional peers installed too: ${optionalPeers.join(', ') || 'none'}); onnxruntime-node's postinstall off by ${scriptPolicy(consumer)}; npm ls --all clean`;
    }, { needs: ['changeset publish'] });

    await steps.step('clean project: ESM import of every entry point', async () => {
      const specs = published.flatMap((p) => entrySpecifiers(consumer, p.name));
      probes = await probeImports(consumer, specs);
      const bad = probes.filter((p) => !p.ok);
      if (bad.length > 0) throw new Error(bad.map((p) => `${p.spec}: ${p.error}`).join('\n'));
      const found = probes.flatMap((p) => (p.backends ?? []).filter((b) => b.kind === 'one').map((b) => `${b.names[0]}`));
      return `${probes.length} entry points import; backends found: ${found.join(', ') || 'none'}`;
    }, { needs: ['clean project: npm install from the registry'] });

    await steps.step('clean project: TypeScript (NodeNext and bundler, skipLibCheck off)', async () => {
      const notes = await typecheck(consumer, probes);
      const assigned = probes.reduce((n, p) => n + (p.backends?.length ?? 0), 0);
      const third = notes.length ? `\nnot ours (third-party declarations that fail with skipLibCheck off; users need skipLibCheck or the missing lib/types):\n${summarizeNotes(notes)}` : '';
      return `${probes.length} entry points and ${assigned} backend exports (assigned to core's MhaBackend) type-check; @mha declarations clean${third}`;
    }, { needs: ['clean project: ESM import of every entry point'] });

    await steps.step('clean project: @mha/conformance/vitest in a vitest test', async () => {
      const pick = probes.find((p) => p.spec === '@mha/backend-ts' && p.backends?.some((b) => b.kind === 'one')) ?? probes.find((p) => p.backends?.some((b) => b.kind === 'one'));
      if (!pick) throw new Error('no installed package exports a backend');
      const key = pick.backends.find((b) => b.kind === 'one').key;
      return `${pick.spec} ${key}: ${await runVitestAdapter(consumer, pick.spec, key)}`;
    }, { needs: ['clean project: ESM import of every entry point'] });

    backends = published.filter((p) => p.name.startsWith('@mha/backend-')).map((p) => p.name);
    if (backends.length === 0) await steps.step('clean project: mha-conformance', async () => { throw new Error('no @mha/backend-* package is published'); });
    for (const name of backends) {
      await steps.step(`clean project: mha-conformance --backend ${name}`, async () => {
        const r = await runConformance(consumer, name);
        if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.totals}\n${r.output.trim().split('\n').slice(-30).join('\n')}`);
        return r.totals;
      }, { needs: ['clean project: npm install from the registry'] });
    }

    // Round 2: a minor release of the spec.
    let minorCore;
    await steps.step('core minor: changeset, version, build, publish', async () => {
      const r = await releaseCoreBump(ws, pubEnv, registry.url, 'minor');
      minorCore = r.core;
      published = r.after;
      return r.detail;
    }, { needs: ['changeset publish'] });

    await steps.step('core minor: every latest range admits the new core', async () => {
      return await rangesReport(registry.url, published, minorCore);
    }, { needs: ['core minor: changeset, version, build, publish'] });

    await steps.step('clean project: upgrade to the new core, conformance again', async () => {
      const bumped = published.filter((p) => p.name === CORE || p.name === '@mha/conformance').map((p) => `${p.name}@${p.version}`);
      await installPackages(consumer, registry.url, bumped, { tools: false });
      const lines = [];
      for (const name of backends) {
        const r = await runConformance(consumer, name);
        if (r.code !== 0) throw new Error(`${name} with ${CORE}@${minorCore}: exit ${r.code}: ${r.totals}\n${r.output.trim().split('\n').slice(-30).join('\n')}`);
        lines.push(`${name}: ${r.totals}`);
      }
      return `npm install ${bumped.join(' ')}: one copy of each, npm ls clean\n${lines.join('\n')}`;
    }, { needs: ['core minor: changeset, version, build, publish', 'clean project: npm install from the registry'] });

    // Round 3: a breaking release of the spec must reach every dependent.
    let majorCore;
    await steps.step('core major: changeset, version, publish', async () => {
      const r = await releaseCoreBump(ws, pubEnv, registry.url, 'major');
      majorCore = r.core;
      const dependents = r.before.filter((p) => RUNTIME_DEP_FIELDS.some((f) => p.json[f]?.[CORE]));
      const stale = dependents.filter((p) => r.after.find((a) => a.name === p.name)?.version === p.version);
      if (stale.length > 0) throw new Error(`not re-versioned after a major ${CORE}: ${stale.map((p) => p.name).join(', ')}`);
      published = r.after;
      return r.detail;
    }, { needs: ['core minor: changeset, version, build, publish'] });

    await steps.step('core major: every latest range admits the new core', async () => {
      return await rangesReport(registry.url, published, majorCore);
    }, { needs: ['core major: changeset, version, publish'] });
  } finally {
    if (registry) await registry.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  console.log(`\n${steps.summary(Date.now() - started)}`);
  if (values.keep) {
    console.log(`kept ${work}`);
  } else {
    if (!steps.passed) {
      const kept = join(realpathSync(tmpdir()), `mha-release-check-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
      copyFileSync(logTarget.file, kept);
      console.log(`full log: ${kept}`);
    }
    rmSync(work, { recursive: true, force: true });
  }
  return steps.passed ? 0 : 1;
}

/** The changeset files waiting in .changeset/ (README.md and config.json are not changesets). */
function pendingChangesets(ws) {
  const dir = join(ws, '.changeset');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort();
}

/** One line per third-party package: how many distinct errors and which unknown names they are about. */
function summarizeNotes(notes) {
  const byPkg = new Map();
  for (const n of notes) {
    const pkg = n.slice(0, n.indexOf(':'));
    if (!byPkg.has(pkg)) byPkg.set(pkg, []);
    byPkg.get(pkg).push(n.slice(pkg.length + 2));
  }
  return [...byPkg].map(([pkg, msgs]) => `${pkg}: ${msgs.length} distinct error(s), e.g. ${msgs[0]}`).join('\n');
}

/** "name  old -> new" for every published package. */
function versionTable(before, after) {
  const width = Math.max(...after.map((p) => p.name.length));
  return after
    .map((p) => {
      const old = before.find((b) => b.name === p.name)?.version ?? '(new)';
      return `${p.name.padEnd(width)}  ${old === p.version ? p.version : `${old} -> ${p.version}`}`;
    })
    .join('\n');
}

/** `changeset publish` to the loopback registry; returns which name@version it added there. */
async function publish(ws, pubEnv, url, packages) {
  const before = await latestVersions(url, packages);
  await run('pnpm', ['exec', 'changeset', 'publish'], { cwd: ws, env: pubEnv });
  const after = await latestVersions(url, packages);
  const added = packages.filter((p) => after.get(p.name) !== before.get(p.name)).map((p) => `${p.name}@${after.get(p.name)}`);
  return `${added.length} published: ${added.join(', ') || 'nothing'}`;
}

/** dist-tags.latest of each package on the registry (undefined when absent). */
async function latestVersions(url, packages) {
  const map = new Map();
  for (const p of packages) map.set(p.name, (await fetchPackument(url, p.name))?.['dist-tags']?.latest);
  return map;
}

/** Every way the registry disagrees with the workspace: missing packages, other versions, workspace: ranges. */
async function registryProblems(url, packages) {
  const problems = [];
  for (const p of packages) {
    const doc = await fetchPackument(url, p.name);
    if (!doc) {
      problems.push(`${p.name} is not on the registry`);
      continue;
    }
    if (doc['dist-tags']?.latest !== p.version) problems.push(`${p.name}: latest is ${doc['dist-tags']?.latest}, the workspace says ${p.version}`);
    for (const [v, manifest] of Object.entries(doc.versions ?? {})) {
      if (JSON.stringify(manifest).includes('workspace:')) problems.push(`${p.name}@${v} was published with a workspace: range`);
    }
  }
  return problems;
}

/**
 * Writes a changeset bumping @mha/core, versions the copy, (for a minor: builds, as `pnpm release` does),
 * publishes, and checks the fixed group moved together.
 */
async function releaseCoreBump(ws, pubEnv, url, type) {
  const before = await publishedPackages(ws);
  const oldCore = before.find((p) => p.name === CORE)?.version;
  if (!oldCore) throw new Error(`${CORE} is not among the published packages`);
  writeFileSync(join(ws, '.changeset', `release-check-core-${type}.md`), `---\n"${CORE}": ${type}\n---\n\nRelease check: a ${type} release of the spec.\n`);
  await run('pnpm', ['exec', 'changeset', 'version'], { cwd: ws, env: pubEnv });
  const after = await publishedPackages(ws);
  const core = after.find((p) => p.name === CORE).version;
  const expected = semver.inc(oldCore, type);
  if (core !== expected) throw new Error(`${CORE} went ${oldCore} -> ${core}, expected ${expected} for a ${type} changeset`);
  const fixed = JSON.parse(readFileSync(join(ws, '.changeset', 'config.json'), 'utf8')).fixed ?? [];
  for (const group of fixed.filter((g) => g.includes(CORE))) {
    for (const name of group) {
      const v = after.find((p) => p.name === name)?.version;
      if (v !== undefined && v !== core) throw new Error(`${name} is ${v} but is in a fixed group with ${CORE}@${core}`);
    }
  }
  if (type === 'minor') await run('pnpm', ['run', 'build'], { cwd: ws, env: pubEnv });
  const published = await publish(ws, pubEnv, url, after);
  const problems = await registryProblems(url, after);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { core, before, after, detail: `${published}\n${versionTable(before, after)}` };
}

/**
 * For every package's latest published manifest: each @mha/* range must admit that dependency's latest
 * version (so `npm install` of all latest versions is consistent), and the core range must admit `core`.
 */
async function rangesReport(url, packages, core) {
  const latest = new Map();
  const docs = new Map();
  for (const p of packages) {
    const doc = await fetchPackument(url, p.name);
    docs.set(p.name, doc);
    latest.set(p.name, doc?.['dist-tags']?.latest);
  }
  if (latest.get(CORE) !== core) throw new Error(`${CORE} latest is ${latest.get(CORE)}, expected ${core}`);
  const problems = [];
  const rows = [];
  for (const p of packages) {
    const manifest = docs.get(p.name)?.versions?.[latest.get(p.name)];
    if (!manifest) {
      problems.push(`${p.name}: no manifest for ${latest.get(p.name)}`);
      continue;
    }
    for (const field of RUNTIME_DEP_FIELDS) {
      for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
        if (!dep.startsWith('@mha/')) continue;
        const target = latest.get(dep);
        if (target === undefined) problems.push(`${p.name}@${manifest.version} ${field} ${dep}@${range}: ${dep} is not published`);
        else if (!admits(range, target)) problems.push(`${p.name}@${manifest.version} ${field}["${dep}"] = "${range}" excludes the latest ${dep}@${target}`);
        if (dep === CORE) rows.push(`${`${p.name}@${manifest.version}`.padEnd(34)} ${field.padEnd(16)} "${range}"  ${admits(range, core) ? 'admits' : 'EXCLUDES'} ${core}`);
      }
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return `${rows.length} dependents of ${CORE}@${core}, all ranges admit it\n${rows.join('\n')}`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 2;
  },
);

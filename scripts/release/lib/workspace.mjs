// The workspace's packages as the release scripts see them, and a throwaway copy of the workspace.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { run } from './run.mjs';

/**
 * @typedef {{ name: string, version: string, dir: string, rel: string, private: boolean, json: any }} WorkspacePackage
 */

/**
 * Every package of the pnpm workspace at `root` (the root package itself excluded), with its package.json.
 * @returns {Promise<WorkspacePackage[]>}
 */
export async function workspacePackages(root) {
  const { stdout } = await run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root });
  return JSON.parse(stdout)
    .filter((/** @type {any} */ p) => p.path !== root)
    .map((/** @type {any} */ p) => {
      const json = JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8'));
      return { name: json.name, version: json.version, dir: p.path, rel: relative(root, p.path), private: json.private === true, json };
    })
    .sort((/** @type {WorkspacePackage} */ a, /** @type {WorkspacePackage} */ b) => a.name.localeCompare(b.name));
}

/** The packages that get published: every workspace package not marked private. */
export async function publishedPackages(root) {
  return (await workspacePackages(root)).filter((p) => !p.private);
}

/** The dependency fields whose @mha/* entries end up in a published package.json. */
export const RUNTIME_DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/**
 * Copies the working tree of the git repository at `root` (tracked files plus untracked ones that are not
 * ignored: what a fresh clone plus the local edits would hold, without node_modules or build output) to `dest`.
 * @returns {Promise<number>} how many files were copied
 */
export async function copyWorkingTree(root, dest) {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
  let count = 0;
  for (const rel of new Set(stdout.split('\0').filter(Boolean))) {
    const src = join(root, rel);
    // Tracked files deleted in the working tree are listed too: skip them, as a commit of this tree would.
    if (!existsSync(src) && !isSymlink(src)) continue;
    const to = join(dest, rel);
    mkdirSync(dirname(to), { recursive: true });
    if (isSymlink(src)) symlinkSync(readlinkSync(src), to);
    else copyFileSync(src, to);
    count++;
  }
  return count;
}

function isSymlink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Copies the files of the last commit of the repository at `root` to `dest` (`git archive HEAD`).
 * @returns {Promise<number>} how many files were copied
 */
export async function copyHead(root, dest) {
  mkdirSync(dest, { recursive: true });
  const archive = join(dest, '..', 'head.tar');
  await run('git', ['archive', '--format=tar', '-o', archive, 'HEAD'], { cwd: root });
  await run('tar', ['-xf', archive, '-C', dest]);
  const { stdout } = await run('git', ['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: root });
  return stdout.split('\n').filter(Boolean).length;
}

// A throwaway npm registry (Verdaccio) on 127.0.0.1 for the release check: storage in a temporary folder, no
// uplinks (it only ever holds @mha/* packages; everything else comes from the usual registry), publishing for
// one throwaway user created at start.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, run } from './run.mjs';

const registryDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'registry');

/**
 * Installs the pinned Verdaccio into scripts/release/registry/node_modules with `npm ci` (outside the pnpm
 * workspace) unless that exact version is already there. Install scripts stay off: Verdaccio needs none.
 */
export async function ensureVerdaccio() {
  const wanted = JSON.parse(readFileSync(join(registryDir, 'package.json'), 'utf8')).dependencies.verdaccio;
  const installed = join(registryDir, 'node_modules', 'verdaccio', 'package.json');
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === wanted) return wanted;
  await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: registryDir });
  return wanted;
}

/** Verdaccio's configuration: everything under `dir`, @mha/* published by authenticated users only. */
function verdaccioConfig(dir) {
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  return {
    self_path: join(dir, 'config.json'),
    storage,
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: 1, algorithm: 'bcrypt' } },
    uplinks: {},
    packages: {
      '@mha/*': { access: '$all', publish: '$authenticated', unpublish: '$authenticated' },
      '**': { access: '$all' },
    },
    web: { enable: false },
    middlewares: {},
    max_body_size: '100mb',
    logs: { type: 'stdout', format: 'pretty', level: 'warn' },
  };
}

/**
 * Starts the registry and registers a throwaway user.
 * @param {string} dir an empty temporary folder for its configuration and storage
 * @returns {Promise<{ url: string, token: string, stop: () => Promise<void> }>}
 */
export async function startRegistry(dir) {
  mkdirSync(dir, { recursive: true });
  const config = verdaccioConfig(dir);
  writeFileSync(config.self_path, JSON.stringify(config, null, 1));
  const child = fork(join(registryDir, 'serve.mjs'), [config.self_path], { cwd: registryDir, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout.on('data', (d) => log(`[registry] ${d}`));
  child.stderr.on('data', (d) => log(`[registry] ${d}`));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const { address, port } = await new Promise((resolve, reject) => {
      // A hang guard only: on a loaded machine Verdaccio can take minutes to start.
      const timer = setTimeout(() => reject(new Error('the registry did not start within 10 minutes')), 600_000);
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => reject(new Error(`the registry exited with ${code} before listening (see the log)`)));
    });
    if (address !== '127.0.0.1') throw new Error(`the registry listens on ${address}, not 127.0.0.1`);
    const url = `http://127.0.0.1:${port}/`;
    const token = await addUser(url, 'mha-release-check', `pw-${process.pid}-${Date.now()}`);
    return { url, token, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Registers a user the way `npm adduser` does (CouchDB user document) and returns its token. */
function addUser(url, name, password) {
  const body = JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [], date: new Date().toISOString() });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`-/user/org.couchdb.user:${encodeURIComponent(name)}`, url),
      { method: 'PUT', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const json = safeJson(text);
          if (res.statusCode === 201 && json?.token) resolve(json.token);
          else reject(new Error(`registering the publish user failed: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Fetches a package document (all versions' package.json as published) from the registry.
 * @returns {Promise<any | undefined>} undefined when the registry does not have the package
 */
export function fetchPackument(url, name) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(name.replace('/', '%2f'), url), { headers: { accept: 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        if (res.statusCode === 404) resolve(undefined);
        else if (res.statusCode === 200) resolve(JSON.parse(text));
        else reject(new Error(`GET ${name}: HTTP ${res.statusCode}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// The WebAssembly a package ships, checked in its packed tarball (issue 16: "ship the .wasm in the package
// and check the bytes in the release lint"). A package opts in with `mhaRelease.wasm` in package.json:
//   { "module": "./dist/wasm-binary.js",      the packed ES module that embeds the bytes as base64 exports
//     "manifest": "./build/manifest.json",    written by the build: per module its export name, size, sha256, features
//     "compile": "./scripts/compile.mjs" }    exports compileVariants(): the bytes the sources compile to now
// Checks, each an error: the module is in the tarball and exports every recorded module and no other;
// each decodes to a WebAssembly binary of the recorded size and sha256 (else the packed bytes are corrupted or
// from another build); a fresh compile of the sources gives the same bytes (else the build is stale);
// WebAssembly.validate accepts each with the features it was built for (SIMD in this Node; relaxed SIMD,
// where this Node has it behind a flag, in a child Node with that flag).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** V8 flags that enable a feature Node 20 does not ship on by default. */
const FEATURE_FLAGS = { 'relaxed-simd': '--experimental-wasm-relaxed-simd' };

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Whether `WebAssembly.validate` accepts `bytes` with `features`: in this process, or else in a child Node
 * started with the flags that enable them.
 * @returns {{ ok: boolean, where: string }}
 */
export function validateWasm(bytes, features = []) {
  if (WebAssembly.validate(bytes)) return { ok: true, where: `node ${process.version}` };
  const flags = features.map((f) => FEATURE_FLAGS[f]).filter(Boolean);
  if (flags.length === 0) return { ok: false, where: `node ${process.version}` };
  const r = spawnSync(process.execPath, [...flags, '-e', "process.stdout.write(String(WebAssembly.validate(Buffer.from(require('fs').readFileSync(0, 'utf8'), 'base64'))))"], {
    input: Buffer.from(bytes).toString('base64'),
    encoding: 'utf8',
  });
  return { ok: r.status === 0 && r.stdout === 'true', where: `node ${process.version} ${flags.join(' ')}${r.status !== 0 ? ` (exited ${r.status}: ${r.stderr.trim().split('\n')[0]})` : ''}` };
}

/**
 * Checks the WebAssembly of one packed package (see the file comment).
 * @param {{ root: string, files: string[], manifest: any }} packed the unpacked tarball (lib/tarball.mjs)
 * @param {string} pkgDir the package's folder (where the build wrote its manifest and the sources live)
 * @param {{ compile?: () => Promise<Record<string, Uint8Array>> }} [opts] `compile` replaces the package's compiler (tests)
 * @returns {Promise<import('./package-rules.mjs').Finding[]>}
 */
export async function checkPackedWasm(packed, pkgDir, opts = {}) {
  const spec = packed.manifest.mhaRelease?.wasm;
  if (spec === undefined) return [];
  /** @type {import('./package-rules.mjs').Finding[]} */
  const out = [];
  const error = (message, fix) => out.push({ level: 'error', message, fix });
  const rebuild = 'rebuild the package (pnpm --filter <pkg> build) and pack again';

  const manifestPath = join(pkgDir, spec.manifest);
  if (!existsSync(manifestPath)) {
    error(`mhaRelease.wasm: no build record at ${spec.manifest} (the build writes it)`, rebuild);
    return out;
  }
  const record = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const rel = posix.normalize(spec.module);
  if (!packed.files.includes(rel)) {
    error(`mhaRelease.wasm: ${spec.module}, the module that embeds the WebAssembly, is not in the tarball`, 'keep dist in "files"');
    return out;
  }
  // The packed file itself, imported as a runtime would (a fresh URL so a re-check reads the file again).
  const mod = await import(`${pathToFileURL(join(packed.root, rel)).href}?check=${Date.now()}-${Math.random()}`);
  const recorded = new Set(Object.values(record).map((r) => r.export));
  for (const name of Object.keys(mod)) {
    if (/_WASM_BASE64$/.test(name) && !recorded.has(name)) error(`${spec.module} exports ${name}, which the build record does not list (a module from another build?)`, rebuild);
  }

  let fresh;
  try {
    const { compileVariants } = opts.compile ? { compileVariants: opts.compile } : await import(pathToFileURL(join(pkgDir, spec.compile)).href);
    fresh = await compileVariants();
  } catch (e) {
    error(`mhaRelease.wasm: compiling the sources with ${spec.compile} failed: ${e instanceof Error ? e.message : e}`);
  }

  for (const [variant, want] of Object.entries(record)) {
    const b64 = mod[want.export];
    if (typeof b64 !== 'string' || b64 === '') {
      error(`${spec.module} has no ${want.export} (the ${variant} module)`, rebuild);
      continue;
    }
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    if (Buffer.from(bytes).toString('base64') !== b64) error(`${want.export} is not valid base64`, rebuild);
    if (!MAGIC.every((b, i) => bytes[i] === b)) error(`${want.export} is not a WebAssembly binary (no \\0asm version 1 header)`, rebuild);
    const got = sha256(bytes);
    if (bytes.length !== want.bytes || got !== want.sha256) {
      error(`the packed ${variant} module (${bytes.length} bytes, sha256 ${got}) is not the one the build recorded (${want.bytes} bytes, sha256 ${want.sha256}): corrupted, or from another build`, rebuild);
    }
    if (fresh) {
      const now = fresh[variant];
      if (!now) error(`the sources no longer compile a ${variant} module`, rebuild);
      else if (sha256(now) !== got) error(`the packed ${variant} module (sha256 ${got}) is stale: the sources compile to ${now.length} bytes, sha256 ${sha256(now)}`, rebuild);
    }
    const v = validateWasm(bytes, want.features);
    if (!v.ok) error(`WebAssembly.validate refuses the packed ${variant} module (features ${want.features.join(', ')}; ${v.where})`, rebuild);
  }
  return out;
}

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, platform, release, totalmem, arch, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { repoBackendModules, repoRoot } from './discover.js';

/** Where and with what the bench ran. */
export interface MachineInfo {
  readonly cpuModel: string;
  /** Logical CPUs (`os.cpus().length`). */
  readonly logicalCpus: number;
  readonly availableParallelism: number;
  readonly totalMemoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** 1-minute load average when the run started and ended: other jobs on the machine skew timings. */
  readonly loadAverageStart: number;
  loadAverageEnd?: number;
  /** Package name -> version: this repository's packages and the runtimes they drive. */
  readonly versions: Readonly<Record<string, string>>;
}

/** Third-party runtimes whose versions the report names, looked up from the package that depends on them. */
const RUNTIME_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'tinybench'];

function readVersion(pkgJson: string): string | undefined {
  if (!existsSync(pkgJson)) return undefined;
  return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version;
}

/** Versions of this repo's packages (packages/*) and of the runtimes any of them resolves. */
export function packageVersions(root = repoRoot()): Record<string, string> {
  const versions: Record<string, string> = {};
  const dirs = [join(root, 'packages', 'bench'), join(root, 'packages', 'core'), join(root, 'packages', 'onnx'), ...repoBackendModules(root).map((m) => m.dir)];
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
    versions[pkg.name] = pkg.version;
    const require = createRequire(join(dir, 'package.json'));
    for (const name of RUNTIME_PACKAGES) {
      if (versions[name]) continue;
      try {
        const v = readVersion(require.resolve(`${name}/package.json`));
        if (v) versions[name] = v;
      } catch {
        // Not a dependency of this package (or no ./package.json export): try the next one.
        const v = readVersion(join(dir, 'node_modules', name, 'package.json'));
        if (v) versions[name] = v;
      }
    }
  }
  return Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)));
}

/** CPU, memory, OS, Node and package versions of this machine. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    logicalCpus: list.length,
    availableParallelism: availableParallelism(),
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    loadAverageStart: round2(loadavg()[0] ?? 0),
    versions: packageVersions(),
  };
}

/** 1-minute load average now. */
export function currentLoad(): number {
  return round2(loadavg()[0] ?? 0);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

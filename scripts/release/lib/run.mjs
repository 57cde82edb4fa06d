// Child processes for the release scripts. Always asynchronous: the registry may run in a child of this
// process, and a synchronous spawn would freeze the event loop that forwards signals to it.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Where every command and its output are appended (set by the caller; undefined = nowhere). */
export const logTarget = { file: undefined };

/** Appends text to the log file, if one is set. */
export function log(text) {
  if (logTarget.file) appendFileSync(logTarget.file, text.endsWith('\n') ? text : `${text}\n`);
}

/** A command that exited non-zero, with its output kept for the report. */
export class CommandError extends Error {
  constructor(command, code, signal, output) {
    const tail = output.trim().split('\n').slice(-25).join('\n');
    super(`\`${command}\` ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `\n${tail}` : ''}`);
    this.code = code;
    this.output = output;
  }
}

/**
 * Runs a command without a shell and collects its output (stdout and stderr interleaved, as a person would see
 * them). Rejects with {@link CommandError} on a non-zero exit unless `allowFailure` is set.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number, allowFailure?: boolean, echo?: boolean }} [opts]
 * @returns {Promise<{ code: number | null, stdout: string, output: string }>}
 */
export function run(cmd, args, opts = {}) {
  // The default time limit is a hang guard only (30 minutes): installs and builds on a loaded machine can take many minutes.
  const { cwd, env, timeoutMs = 30 * 60_000, allowFailure = false, echo = false } = opts;
  const shown = [cmd, ...args].join(' ');
  log(`\n$ ${shown}${cwd ? `   (in ${cwd})` : ''}`);
  return new Promise((resolve, reject) => {
    // A process group of its own, so a timeout can end the command and everything it started.
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let output = '';
    const take = (isStdout) => (chunk) => {
      const text = chunk.toString();
      if (isStdout) stdout += text;
      output += text;
      log(text);
      if (echo) process.stdout.write(text);
    };
    child.stdout.on('data', take(true));
    child.stderr.on('data', take(false));
    const timer = setTimeout(() => {
      log(`(timed out after ${timeoutMs} ms: killing)`);
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    running.add(child.pid);
    child.on('error', (e) => {
      clearTimeout(timer);
      running.delete(child.pid);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      if (code === 0 || allowFailure) resolve({ code, stdout, output });
      else reject(new CommandError(shown, code, signal, output));
    });
  });
}

/** Process groups of the commands still running, so an interrupted check can end them. */
const running = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Ends every command started by {@link run} that is still running (used on SIGINT/SIGTERM). */
export function killRunning() {
  for (const pid of running) killGroup(pid, 'SIGKILL');
  running.clear();
}

/**
 * One Debian daemon (Prometheus, Alertmanager) for a test file: spawned by absolute path in a
 * temporary directory, its output kept for failure messages, ready when `GET /-/ready` says so,
 * stopped by the PID of the child we spawned (never by name) and its directory removed.
 * `restart()` stops it the same way but keeps the directory, and spawns it again with the
 * same arguments on the same port (a daemon restarted on its own data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface DaemonSpec {
  /** Name in error messages. */
  readonly name: string;
  readonly bin: string;
  /** Debian package providing `bin`, for the "not found" message. */
  readonly aptPackage: string;
  /** Prefix of the temporary directory. */
  readonly tmpPrefix: string;
  /** Writes the config files into `dir` and returns the command-line arguments. */
  prepare(dir: string, port: number, url: string): Promise<readonly string[]>;
}

export interface DaemonRestartOptions {
  /** How the running process is stopped: SIGTERM (a clean shutdown) or SIGKILL (a crash). @default 'SIGTERM' */
  readonly signal?: 'SIGTERM' | 'SIGKILL';
  /** Runs after the process exited and before it is spawned again (the outage). */
  readonly whileDown?: () => Promise<void>;
}

export interface Daemon {
  readonly url: string;
  readonly port: number;
  /** PID of the process running now (a new one after {@link Daemon.restart}). */
  readonly pid: number;
  /** What the process wrote to stdout/stderr, over every run. */
  output(): string;
  /** Stops the process (SIGTERM, SIGKILL after 10 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the process but keeps its directory (data, config), then spawns it again with the
   * same arguments on the same port and waits (30 s at most) until it reports ready.
   */
  restart(options?: DaemonRestartOptions): Promise<void>;
}

/** Starts the daemon on a free loopback port and waits (30 s at most) until it reports ready. */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  if (!existsSync(spec.bin)) throw new Error(`${spec.bin} not found: apt-get install -y --no-install-recommends ${spec.aptPackage}`);
  const dir = await mkdtemp(path.join(tmpdir(), spec.tmpPrefix));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let args: readonly string[];
  try {
    args = await spec.prepare(dir, port, url);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let out = '';
  let child: ChildProcess;
  let exited: Promise<unknown>;
  const spawnChild = (): void => {
    child = spawn(spec.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    (child.stdout as Readable).setEncoding('utf8').on('data', (d: string) => (out += d));
    (child.stderr as Readable).setEncoding('utf8').on('data', (d: string) => (out += d));
    exited = once(child, 'exit');
  };
  /** Ends the current process (by its PID) and waits until it exited. */
  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    stopped = true;
    await halt('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  const ready = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${spec.name} exited with ${child.exitCode}:\n${out}`);
      if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`${spec.name} not ready after 30 s:\n${out}`);
      await sleep(50);
    }
  };
  spawnChild();
  try {
    await ready();
  } catch (e) {
    await stop();
    throw e;
  }
  const restart = async (options: DaemonRestartOptions = {}): Promise<void> => {
    if (stopped) throw new Error(`${spec.name}: restart() after stop()`);
    await halt(options.signal ?? 'SIGTERM');
    await options.whileDown?.();
    spawnChild();
    try {
      await ready();
    } catch (e) {
      await stop();
      throw e;
    }
  };
  return {
    url,
    port,
    get pid() {
      return child.pid as number;
    },
    output: () => out,
    stop,
    restart,
  };
}

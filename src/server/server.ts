/**
 * `tdd serve` as a library: scan the model folders, build the queue, pool and app, and listen (on loopback
 * unless told otherwise). `close()` is the graceful shutdown: stop accepting connections, cancel waiting
 * jobs, let running ones finish within the grace period (then stop them at their next step), let event
 * streams deliver their last event, and release the loaded models.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import type { EmbeddedModel } from '../embedded/index.js';
import { defaultHashCacheFile, FileHashCache } from '../util/file-hash.js';
import { packageVersion } from '../util/package-root.js';
import { createApp } from './app.js';
import { ServeError } from './errors.js';
import { createJobRunner } from './generation-runner.js';
import { ImageStore } from './image-store.js';
import { JobQueue } from './job-queue.js';
import { MemoryAdmission } from './memory-estimate.js';
import { ModelRegistry } from './model-registry.js';
import { PipelinePool } from './pipeline-pool.js';
import type { PreviewOptions } from './preview.js';
import { StaticFiles } from './static-files.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7860; 0 picks a free port. */
  port?: number;
  modelDirs?: readonly string[];
  /** The embedded model; default: the one the package ships (if any). null leaves it out. */
  embedded?: EmbeddedModel | null;
  maxQueued?: number;
  jobTimeoutMs?: number;
  memoryBudgetBytes?: number;
  /** false turns step previews off. */
  previews?: false | PreviewOptions;
  /** Also write every PNG here. */
  outDir?: string;
  maxImages?: number;
  /** Hash cache file for model/LoRA hashes; null keeps hashes in memory only. Default: the user cache. */
  hashCacheFile?: string | null;
  /** Running jobs get this long to finish when the server closes (default 10 s). */
  shutdownGraceMs?: number;
  /** Device and threads of every pipeline the server loads (default: cpu, all cores). */
  runtime?: RuntimeOptions;
  /** Memory the server may use (default: 90 % of the cgroup's or the machine's); a job gets this less the loaded models. */
  usableMemoryBytes?: number;
  /** More Host names the server answers to (besides the bound address, this machine's names and localhost). */
  allowedHosts?: readonly string[];
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  registry: ModelRegistry;
  queue: JobQueue;
  /** Host header names (and Origin hosts) the server accepts, lower case, IPv6 in brackets. */
  allowedHosts: string[];
  /** Graceful shutdown; `graceMs` overrides the server's shutdownGraceMs. */
  close(graceMs?: number): Promise<void>;
}

const WILDCARD_HOSTS = ['0.0.0.0', '::', '[::]', ''];

/** A host as the Host header spells it: lower case, IPv6 in brackets, no port. */
export function normalizeHostName(name: string): string {
  const h = name.trim().toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  if (/^[^:]*:\d+$/.test(h)) return h.replace(/:\d+$/, ''); // name:port
  return h.includes(':') ? `[${h}]` : h;
}

/**
 * Host names a server bound to `host` answers to (DNS rebinding protection holds for every bind): the bound
 * address, localhost names, this machine's host name, for a wildcard bind every interface address, and `extra`.
 */
export function allowedHostsFor(host: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  const add = (n: string) => n && names.add(normalizeHostName(n));
  add(host);
  const machine = hostname();
  add(machine);
  if (machine && !machine.includes('.')) add(`${machine}.local`);
  if (WILDCARD_HOSTS.includes(host.toLowerCase())) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address.replace(/%.*$/, ''));
  }
  for (const n of extra) add(n);
  names.delete('');
  return names;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(
        new ServeError(
          `cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port)' : e.message}`,
        ),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const version = packageVersion();
  const registry = ModelRegistry.scan(options.modelDirs ?? [], { embedded: options.embedded });
  const page = new StaticFiles();
  const pool = new PipelinePool({ memoryBudgetBytes: options.memoryBudgetBytes, loadOptions: sessionOptionsFor(options.runtime) });
  const images = new ImageStore({ maxImages: options.maxImages, outDir: options.outDir });
  const hashes = new FileHashCache(options.hashCacheFile === null ? undefined : (options.hashCacheFile ?? defaultHashCacheFile()));
  const admission = new MemoryAdmission(pool, options.usableMemoryBytes);
  const runner = createJobRunner({
    pool,
    images,
    hashes,
    admission,
    version: `tdd-diffusion ${version}`,
    previews: options.previews ?? {},
  });
  const queue = new JobQueue(runner, { maxQueued: options.maxQueued, jobTimeoutMs: options.jobTimeoutMs });
  const allowedHosts = allowedHostsFor(host, options.allowedHosts);
  const app = createApp({ registry, queue, images, pool, page, version, allowedHosts, admission });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Slow or stalled uploads cannot hold a connection forever; event streams (responses) are not affected.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  const address = await listen(server, options.port ?? 7860, host);
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = async (graceMs = options.shutdownGraceMs ?? 10_000) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await queue.shutdown(graceMs);
    // Streams end after writing their job's terminal event; give them a moment, then drop what is left.
    server.closeIdleConnections();
    const forced = setTimeout(() => server.closeAllConnections(), 1000);
    await closed;
    clearTimeout(forced);
    await pool.releaseAll();
  };
  return {
    url: `http://${urlHost}:${address.port}`,
    host,
    port: address.port,
    registry,
    queue,
    allowedHosts: [...allowedHosts],
    close: (graceMs?: number) => (closing ??= close(graceMs)),
  };
}

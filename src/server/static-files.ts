/**
 * The web page's files, served from the package's `src/web` folder (the same folder whether the server runs
 * from src/ under tsx or from the built dist/). Only the files present at start-up are served, by exact
 * name, so a request path never reaches the file system. A strict Content-Security-Policy keeps the page
 * to this server: no CDN, no external fetches.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { ServeError } from './errors.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export interface StaticFile {
  body: Uint8Array;
  contentType: string;
}

export function webDir(): string {
  return join(packageRoot(), 'src', 'web');
}

export class StaticFiles {
  private readonly files = new Map<string, string>();

  constructor(readonly dir = webDir()) {
    if (!existsSync(join(dir, 'index.html'))) throw new ServeError(`${dir}: the web page (index.html) is missing from the package`);
    for (const name of readdirSync(dir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (type && statSync(join(dir, name)).isFile()) this.files.set(name, type);
    }
  }

  get names(): string[] {
    return [...this.files.keys()];
  }

  /** The file for a URL path ("/" is index.html); undefined when it is not one of the page's files. */
  get(urlPath: string): StaticFile | undefined {
    const name = urlPath === '/' ? 'index.html' : urlPath.replace(/^\//, '');
    const contentType = this.files.get(name);
    if (!contentType) return undefined;
    // Read on every request: a few KB, and edits to the page show without a restart.
    return { body: readFileSync(join(this.dir, name)), contentType };
  }
}

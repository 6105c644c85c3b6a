import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * node:http, loaded with require() rather than an ESM import. On Node 24 an ESM import of a
 * built-in builds its namespace from every export, and node:http's lazy ones (WebSocket,
 * EventSource, ...) then load Node's bundled undici into every process, the largest single part
 * of a sidecar's memory (npm run footprint). require() leaves them lazy.
 */
export const http = load('node:http') as typeof import('node:http');

/**
 * TLS and crypto, loaded on first use: an exporter that speaks plain http to its servers and
 * serves plain http never loads them, which keeps them out of a sidecar's memory (npm run
 * footprint). Types come from `import type`, which costs nothing at run time.
 */
export const nodeTls = (): typeof import('node:tls') => load('node:tls') as typeof import('node:tls');
export const nodeHttps = (): typeof import('node:https') => load('node:https') as typeof import('node:https');
export const nodeCrypto = (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto');

/**
 * zlib for the gzipped answers. express loads it as it starts (its JSON body parser requires it),
 * so it is in every process now; npm run footprint measures what that costs.
 */
export const nodeZlib = (): typeof import('node:zlib') => load('node:zlib') as typeof import('node:zlib');

/**
 * undici, loaded when the first monitoring client is made: a sidecar that only serves probes never
 * loads it. Its HTTP parser is WebAssembly, which V8 would compile again with TurboFan once it
 * runs hot: that compilation is the largest transient in the exporter's peak memory (npm run
 * memory), and saves nothing on a dozen requests a scrape whose bodies the parser only skips.
 * Liftoff, V8's first-tier WebAssembly compiler, is kept instead.
 */
export const undici = (): typeof import('undici') => {
  if ((globalThis as { WebAssembly?: unknown }).WebAssembly === undefined) {
    throw new Error(
      'undici, the HTTP client of the monitoring ports, parses HTTP with WebAssembly, which this node runs without (--lite-mode or --jitless): start node without those flags',
    );
  }
  (load('node:v8') as typeof import('node:v8')).setFlagsFromString('--liftoff-only');
  return load('undici') as typeof import('undici');
};

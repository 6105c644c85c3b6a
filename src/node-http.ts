import { createRequire } from 'node:module';

/**
 * node:http, loaded with require() rather than an ESM import. On Node 24 an ESM import of a
 * built-in builds its namespace from every export, and node:http's lazy ones (WebSocket,
 * EventSource, ...) then load Node's bundled undici: 10-12 MB more resident in every process, the
 * largest single part of a sidecar's memory (npm run footprint). require() leaves them lazy.
 * Types still come from `import type ... from 'node:http'`, which costs nothing at run time.
 */
export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

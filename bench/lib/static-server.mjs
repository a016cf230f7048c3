// Fallback static server for the pages when the consent service binary is not
// built yet: `node static-server.mjs <dir> <port>`; like the service's
// --static-dir, `<dir>/www` is served at `/` and `<dir>/pkg` at `/pkg/`. Runs as its own process so
// it does not share an event loop with the benchmark driver. Plain files, no
// compression, like a static file handler without precompressed variants.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';

const [dir, port] = process.argv.slice(2);
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
};

createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (path.includes('..')) return res.writeHead(400).end();
  try {
    const file = path.startsWith('/pkg/') ? join(dir, path) : join(dir, 'www', path);
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));

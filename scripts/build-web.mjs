// Builds the dashboard (web/) into dist/web: one ES module bundle and one stylesheet, named by
// content hash (served immutable), and index.html pointing at them. No CDN: everything is bundled.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(root, 'web', 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs).filter(([, o]) => o.entryPoint || o.cssBundle === undefined);
const js = outputs.map(([file]) => file).find((f) => f.endsWith('.js'));
const css = outputs.map(([file]) => file).find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`build-web: expected one .js and one .css output, got ${Object.keys(result.metafile.outputs).join(', ')}`);
const template = await readFile(join(root, 'web', 'index.html'), 'utf8');
await writeFile(join(out, 'index.html'), template.replace('{{js}}', `/assets/${basename(js)}`).replace('{{css}}', `/assets/${basename(css)}`));

// The shared generator page's size and its time to the first sample, for the DCGAN presets at
// their default widths (an untrained generator is as large as a trained one, and as quick):
// the native binary trains one step on the built-in digits, exports the page with and without
// --half, and headless Chromium (WebGPU on SwiftShader) opens each from its file:// URL with every
// other request aborted, `rounds` times in a fresh context. Build first (./build.sh build and
// cargo build; $WEBGAN names another binary).
//   node tests/browser/bench-share.mjs [--presets dcgan28,dcgan64] [--rounds 3]
// Prints a Markdown table: file size, and the median milliseconds from navigation to the
// generator loaded on the GPU (wasm compiled, weights read, device open: data-opened-ms) and to
// the first grid drawn (data-first-sample-ms: a row of 8 per class, 80 images for the digits).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch } from './browser.mjs';

const args = { presets: 'dcgan28,dcgan64', rounds: '3' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = argv[i].match(/^--([a-z]+)$/);
  if (!m || !(m[1] in args) || i + 1 >= argv.length) {
    console.error(`unknown or incomplete argument ${argv[i]}; see the header of this file`);
    process.exit(2);
  }
  args[m[1]] = argv[++i];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEBGAN = process.env.WEBGAN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug/webgan');
const dir = await mkdtemp(join(tmpdir(), 'webgan-bench-share-'));
const env = { ...process.env, WGPU_BACKEND: process.env.WGPU_BACKEND ?? 'vulkan', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp/webgan-xdg' };
const webgan = (...a) => execFileSync(WEBGAN, a, { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// Milliseconds from navigation to the generator loaded and to the first grid of the page at `file`.
async function firstSample(browser, file) {
  const context = await browser.newContext();
  await context.route('**/*', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
  const page = await context.newPage();
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 600_000 });
  const r = await page.evaluate(() => {
    const d = document.body.dataset;
    return { ready: d.ready, opened: Number(d.openedMs), first: Number(d.firstSampleMs), error: document.getElementById('error').textContent };
  });
  await context.close();
  if (r.ready !== '1') throw new Error(`${file}: ${r.error}`);
  return r;
}

const browser = await launch();
const rows = [];
try {
  for (const preset of args.presets.split(',').filter(Boolean)) {
    webgan('train', '--preset', preset, '--steps', '1', '--batch', '2', '--every', '0', '--quality-every', '0', '--out', preset);
    for (const half of [false, true]) {
      const file = join(dir, `${preset}${half ? '-half' : ''}.html`);
      webgan('export', '--checkpoint', join(preset, 'checkpoint.safetensors'), '--format', 'html', '--out', file, ...(half ? ['--half'] : []));
      const runs = [];
      for (let r = 0; r < Number(args.rounds); r++) runs.push(await firstSample(browser, file));
      const size = (await stat(file)).size;
      console.error(JSON.stringify({ preset, half, size, runs }));
      const ms = (key) => Math.round(median(runs.map((r) => r[key]))).toLocaleString('en');
      const each = runs.map((r) => Math.round(r.first)).join(', ');
      rows.push(`| ${preset} | ${half ? 'f16' : 'f32'} | ${(size / 1e6).toFixed(1)} MB | ${ms('opened')} | ${ms('first')} | ${each} |`);
    }
  }
} finally {
  await browser.close();
  await rm(dir, { recursive: true, force: true });
}
console.log('| preset | weights | file | ms to the generator loaded | ms to the first sample | first sample, each round |\n|---|---|---:|---:|---:|---|');
console.log(rows.join('\n'));

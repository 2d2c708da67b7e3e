// webgan's training step against TensorFlow.js 4.22's (the peer in ../shared/peers/tfjs), on the
// same model, in the same headless Chromium, run alternately: each round runs webgan's
// www/bench.html, then the peer's WebGPU backend, then its WebGL backend, each in a fresh page.
// Prints the median ms per step of each and webgan's speed-up over each, as a Markdown table and
// one JSON line.
//
//   node tests/browser/bench-vs-tfjs.mjs [--rounds 3] [--preset dcgan28[,dcgan64]]
//        [--batch 64[,8]] [--steps 10] [--peer-steps 3] [--backends webgpu,webgl]
//
// dcgan28 runs the peer's own index.html. dcgan64 (PyTorch's examples/dcgan) runs
// tests/browser/peer/tfjs-dcgan64.html, the peer's page carried over to that model, with the
// peer's TensorFlow.js packages. Several presets run in one browser, each round going through
// all of them, with one batch each (by default 64 for dcgan28 and 8 for dcgan64: one peer
// step of dcgan64 at 128 takes about 15 minutes on a software adapter; pass 128 on a GPU).
//
// Needs ./build.sh build first. The peer is copied to target/peer-tfjs and its npm packages
// installed there on first use (PEER_TFJS names another copy of the peer).
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { launch } from './browser.mjs';
import { serve } from './server.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const args = { rounds: 3, preset: 'dcgan28', batch: '', steps: 10, 'peer-steps': 3, backends: 'webgpu,webgl' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = argv[i].match(/^--([a-z-]+)$/);
  if (!m || !(m[1] in args) || i + 1 >= argv.length) {
    console.error(`unknown or incomplete argument ${argv[i]}; see the header of this file`);
    process.exit(2);
  }
  args[m[1]] = argv[++i];
}
const presets = args.preset.split(',').filter(Boolean);
for (const p of presets) {
  if (!['dcgan28', 'dcgan64'].includes(p)) {
    console.error(`the peer has no ${p} page: choose dcgan28 or dcgan64`);
    process.exit(2);
  }
}
const DEFAULT_BATCH = { dcgan28: 64, dcgan64: 8 };
const batches = args.batch ? args.batch.split(',').map(Number) : presets.map((p) => DEFAULT_BATCH[p]);
if (batches.length !== presets.length || batches.some((b) => !Number.isInteger(b) || b < 1)) {
  console.error(`--batch ${args.batch}: give one batch size per preset (${presets.join(', ')})`);
  process.exit(2);
}

function peerFolder() {
  if (process.env.PEER_TFJS) return process.env.PEER_TFJS;
  const dir = join(REPO, 'target', 'peer-tfjs');
  if (!existsSync(join(dir, 'node_modules', '@tensorflow', 'tfjs'))) {
    const source = join(REPO, '..', 'shared', 'peers', 'tfjs');
    if (!existsSync(source)) throw new Error(`the peer is not at ${source}; set PEER_TFJS`);
    mkdirSync(dir, { recursive: true });
    cpSync(source, dir, { recursive: true });
    console.error(`installing the peer's packages in ${dir}`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  }
  return dir;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function runPage(browser, url, key, timeoutMs) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  try {
    await page.goto(url);
    await page.waitForFunction((k) => window[k], key, { timeout: timeoutMs, polling: 500 });
    const r = await page.evaluate((k) => window[k], key);
    if (r.error) throw new Error(`${url}: ${r.error}`);
    return r;
  } finally {
    await page.close();
  }
}

const www = await serve();
const peer = await serve(peerFolder() + '/');
const peerPages = await serve(join(REPO, 'tests', 'browser', 'peer') + '/');
const peerPage = (preset, query) =>
  preset === 'dcgan28'
    ? `${peer.url}index.html?${query}`
    : `${peerPages.url}tfjs-${preset}.html?lib=${encodeURIComponent(peer.url)}&${query}`;
const browser = await launch();
const backends = args.backends.split(',').filter(Boolean);
// runs[preset] = { webgan: [ms per step of each round], 'tfjs-webgpu': [...], ... }
const runs = Object.fromEntries(presets.map((p) => [p, Object.fromEntries(
  ['webgan', ...backends.map((b) => `tfjs-${b}`)].map((k) => [k, []]))]));
let adapter;
try {
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const [i, preset] of presets.entries()) {
      const batch = batches[i];
      const q = `preset=${preset}&batch=${batch}&steps=${args.steps}&warmup=3&reps=1`;
      const w = await runPage(browser, `${www.url}bench.html?${q}`, 'benchResult', 3600e3);
      adapter = w.adapter;
      runs[preset].webgan.push(w.ms_per_step);
      console.error(`round ${round}: ${preset} webgan ${w.ms_per_step} ms/step`);
      for (const b of backends) {
        const pq = `backend=${b}&batch=${batch}&steps=${args['peer-steps']}&reps=1&warmup=1`;
        const r = await runPage(browser, peerPage(preset, pq), '__result', 3600e3);
        if (r.backend !== b) throw new Error(`the peer ran on ${r.backend}, not ${b}`);
        runs[preset][`tfjs-${b}`].push(r.ms_per_step);
        console.error(`round ${round}: ${preset} tfjs ${b} ${r.ms_per_step} ms/step`);
      }
    }
  }
} finally {
  await browser.close();
  www.close();
  peer.close();
  peerPages.close();
}

console.log(`browser: ${browser.version()}; adapter: ${JSON.stringify(adapter)}`);
const summary = { adapter, browser: browser.version(), rounds: Number(args.rounds), presets: [] };
for (const [i, preset] of presets.entries()) {
  const ours = median(runs[preset].webgan);
  console.log(`\n${preset}, batch ${batches[i]}, ${args.rounds} rounds (median ms per step)\n`);
  console.log('| implementation | ms/step (median) | each round | webgan is faster by |');
  console.log('|---|---:|---|---:|');
  for (const [name, ms] of Object.entries(runs[preset])) {
    const m = median(ms);
    console.log(`| ${name} | ${m.toFixed(0)} | ${ms.map((v) => v.toFixed(0)).join(', ')} | ${name === 'webgan' ? '' : `${(m / ours).toFixed(2)}×`} |`);
  }
  summary.presets.push({ preset, batch: batches[i], runs: runs[preset],
    median: Object.fromEntries(Object.entries(runs[preset]).map(([k, v]) => [k, median(v)])) });
}
mkdirSync(join(REPO, 'tests', 'browser', 'artifacts'), { recursive: true });
writeFileSync(join(REPO, 'tests', 'browser', 'artifacts', 'bench-vs-tfjs.json'), JSON.stringify(summary, null, 2));
console.log(`\n${JSON.stringify(summary)}`);

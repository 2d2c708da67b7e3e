// webgan's training step in headless Chromium (WebGPU on SwiftShader), preset by preset, from
// bench.html: the browser's side of `webgan bench train`. Build the page first (./build.sh build).
//   node tests/browser/bench-steps.mjs [--presets pix2pix64,cyclegan64] [--steps 2] [--warmup 1]
// Prints a Markdown table of ms per step and images/s, and each result as JSON on stderr.
import { launch } from './browser.mjs';
import { serve } from './server.mjs';

const args = { presets: 'pix2pix64,pix2pix128,cyclegan64', steps: '2', warmup: '1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = argv[i].match(/^--([a-z]+)$/);
  if (!m || !(m[1] in args) || i + 1 >= argv.length) {
    console.error(`unknown or incomplete argument ${argv[i]}; see the header of this file`);
    process.exit(2);
  }
  args[m[1]] = argv[++i];
}

const server = await serve();
const browser = await launch();
const rows = [];
try {
  for (const preset of args.presets.split(',').filter(Boolean)) {
    const page = await browser.newPage();
    const query = `preset=${preset}&steps=${args.steps}&warmup=${args.warmup}`;
    await page.goto(new URL(`bench.html?${query}`, server.url).href);
    // CycleGAN at 128 takes minutes a step on a CPU's software adapter.
    await page.waitForFunction(() => window.benchResult, null, { timeout: 3_600_000 });
    const r = await page.evaluate(() => window.benchResult);
    await page.close();
    if (r.error) throw new Error(`${preset}: ${r.error}`);
    console.error(JSON.stringify(r));
    rows.push(`| ${preset} | ${r.batch} | ${Math.round(r.ms_per_step).toLocaleString('en')} | ${r.images_per_s} |`);
  }
} finally {
  await browser.close();
  server.close();
}
console.log('| preset | batch | ms/step | images/s |\n|---|---:|---:|---:|');
console.log(rows.join('\n'));

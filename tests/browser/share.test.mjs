// The shared generator page (www/share), as `webgan export --format html` writes it and as the
// training page's "Share as a web page" downloads it, opened from a file:// URL in headless
// Chromium with every request that is not for a file blocked: it draws a non-blank grid, its
// latent walk, class picker and truncation slider change the pixels, 16-bit weights say so,
// pix2pix and CycleGAN translate a picture (CycleGAN both ways), and a browser without WebGPU
// gets the training page's message. The checkpoints are trained by the native binary
// ($WEBGAN, else target/debug/webgan: `cargo build` first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { pairedZip, png, unpairedZip } from './fixtures.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEBGAN = process.env.WEBGAN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug/webgan');
const SLOW = { timeout: 300_000 };

let dir;
let browser;
let page;
let errors;
let blocked;

function webgan(...args) {
  const env = { ...process.env, WGPU_BACKEND: process.env.WGPU_BACKEND ?? 'vulkan', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp/webgan-xdg' };
  return execFileSync(WEBGAN, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

// A run of a step or two by the binary into `name`/.
const train = (name, args) => webgan('train', ...args, '--every', '0', '--out', name);

// That run's checkpoint exported as a page: its file path.
function exported(name, half = false) {
  const out = join(dir, `${name}${half ? '-half' : ''}.html`);
  webgan('export', '--checkpoint', join(name, 'checkpoint.safetensors'), '--format', 'html', '--out', out, ...(half ? ['--half'] : []));
  return out;
}

let pages;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webgan-share-'));
  await writeFile(join(dir, 'pairs.zip'), pairedZip({ side: 32 }));
  await writeFile(join(dir, 'domains.zip'), unpairedZip());
  const quick = ['--steps', '2', '--ngf', '4', '--ndf', '4'];
  const digits = [...quick, '--batch', '8', '--quality-every', '0'];
  train('digits', digits);
  train('sagan', ['--steps', '2', '--ngf', '8', '--ndf', '8', '--batch', '4', '--quality-every', '0', '--preset', 'sagan32', '--nz', '8']);
  train('uniform', [...digits, '--prior', 'uniform']);
  train('pix2pix', ['--data', 'pairs.zip', '--size', '32', ...quick]);
  train('cyclegan', ['--data', 'domains.zip', '--size', '32', ...quick]);
  pages = {
    digits: exported('digits'),
    digitsHalf: exported('digits', true),
    sagan: exported('sagan'),
    uniform: exported('uniform'),
    pix2pix: exported('pix2pix'),
    cyclegan: exported('cyclegan'),
  };
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

// Opens `file` from its file:// URL in a fresh context whose every other request is aborted
// (and noted), and waits for the first sample. `init` runs before the page's scripts.
async function open(file, init) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
  blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page = await context.newPage();
  if (init) await page.addInitScript(init);
  errors = watchErrors(page);
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
}

const ready = async () => assert.equal(await page.evaluate(() => document.body.dataset.ready), '1', await page.textContent('#error'));

// A canvas's pixels: { width, height, sum, spread (max − min of the gray), hash }.
const pixels = (id) => page.evaluate((id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let sum = 0; let hash = 0; let lo = 255; let hi = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i] + d[i + 1] + d[i + 2];
    sum += v;
    lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]);
    hash = (hash * 31 + v) >>> 0;
  }
  return { width: c.width, height: c.height, sum, spread: hi - lo, hash };
}, id);

// Does `act`, then waits until the page has drawn `draws` more times.
async function andDrawn(act, draws = 1) {
  const before = Number(await page.evaluate(() => document.body.dataset.draws ?? 0));
  await act();
  await page.waitForFunction((n) => Number(document.body.dataset.draws) >= n, before + draws, SLOW);
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
}

test('the exported DCGAN page draws from file:// with no network: walks, changes class and truncates', SLOW, async () => {
  await open(pages.digits);
  await ready();
  assert.match(await page.textContent('#about'), /A DCGAN generator \(dcgan28, conditional on 10 classes\), trained for 2 steps\./);
  assert.match(await page.textContent('#adapter'), /GPU: .+/);
  const grid = await pixels('samples');
  // A row per class, 8 wide, of 28-pixel images with a 2-pixel gap.
  assert.deepEqual([grid.width, grid.height], [8 * 30 + 2, 10 * 30 + 2]);
  assert.ok(grid.spread > 10, `the grid is blank (${JSON.stringify(grid)})`);

  const walk = await pixels('walk');
  assert.equal(walk.width, 10 * 30 + 2);
  await andDrawn(() => page.click('#walk-button'));
  assert.notEqual((await pixels('walk')).hash, walk.hash, 'a new walk changes the pixels');

  // One class in the whole grid, then another: the grid and the walk follow.
  await andDrawn(() => page.selectOption('#class', '3'), 2);
  const three = await pixels('samples');
  assert.deepEqual([three.width, three.height], [8 * 30 + 2, 8 * 30 + 2]);
  const walkThree = await pixels('walk');
  await andDrawn(() => page.selectOption('#class', '7'), 2);
  assert.notEqual((await pixels('samples')).hash, three.hash, 'another class changes the grid');
  assert.notEqual((await pixels('walk')).hash, walkThree.hash, 'another class changes the walk');

  const seven = await pixels('samples');
  await andDrawn(() => page.$eval('#truncation', (el) => { el.value = '0.3'; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }), 2);
  assert.equal(await page.textContent('#truncation-value'), '0.30');
  assert.notEqual((await pixels('samples')).hash, seven.hash, 'truncation changes the grid');

  await andDrawn(() => page.click('#new-noise'));
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
});

test('a conditional SAGAN\'s page says SAGAN and follows the class picker', SLOW, async () => {
  await open(pages.sagan);
  await ready();
  assert.match(await page.textContent('#about'), /A SAGAN generator \(sagan32, conditional on 10 classes\), trained for 2 steps\./);
  const grid = await pixels('samples');
  // A row per class, 8 wide, of 32-pixel images with a 2-pixel gap.
  assert.deepEqual([grid.width, grid.height], [8 * 34 + 2, 10 * 34 + 2]);
  assert.ok(grid.spread > 10, `the grid is blank (${JSON.stringify(grid)})`);
  await andDrawn(() => page.selectOption('#class', '3'), 2);
  const three = await pixels('samples');
  await andDrawn(() => page.selectOption('#class', '7'), 2);
  assert.notEqual((await pixels('samples')).hash, three.hash, 'another class changes the grid');
  assert.equal(await page.isVisible('#truncation-label'), true);
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
});

test('a run with a uniform prior: the page has no truncation slider, and still walks', SLOW, async () => {
  await open(pages.uniform);
  await ready();
  assert.equal(await page.isVisible('#truncation-label'), false);
  const walk = await pixels('walk');
  await andDrawn(() => page.click('#walk-button'));
  assert.notEqual((await pixels('walk')).hash, walk.hash, 'a new walk changes the pixels');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
});

test('with --half the page says its weights are 16-bit floats, and draws the same grid nearly', SLOW, async () => {
  await open(pages.digits);
  const full = await pixels('samples');
  await open(pages.digitsHalf);
  await ready();
  assert.match(await page.textContent('#about'), /weights stored as 16-bit floats/);
  const half = await pixels('samples');
  assert.ok(Math.abs(half.sum - full.sum) / full.sum < 0.01, `the grids differ by ${half.sum - full.sum}`);
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
});

test('pix2pix translates my picture, and CycleGAN both ways', SLOW, async () => {
  const picture = { name: 'mine.png', mimeType: 'image/png', buffer: png(40, (x, y) => [x * 6, y * 6, 128]) };
  await open(pages.pix2pix);
  await ready();
  assert.match(await page.textContent('#about'), /A pix2pix generator \(32×32\)/);
  assert.equal(await page.isVisible('#direction'), false);
  await andDrawn(() => page.setInputFiles('#picture-input', picture));
  const shown = await pixels('translation');
  // The picture beside its translation.
  assert.deepEqual([shown.width, shown.height], [2 * 34 + 2, 36]);
  assert.ok(shown.spread > 10);

  await open(pages.cyclegan);
  await ready();
  await andDrawn(() => page.setInputFiles('#picture-input', picture));
  const aToB = await pixels('translation');
  await andDrawn(() => page.selectOption('#direction', 'BtoA'));
  assert.notEqual((await pixels('translation')).hash, aToB.hash, 'G_B translates otherwise than G_A');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
});

test('without WebGPU the page says what the training page says', SLOW, async () => {
  const noGpu = () => { delete Navigator.prototype.gpu; };
  await open(pages.digits, noGpu);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'error');
  const said = await page.textContent('#error');
  const server = await serve();
  try {
    const main = await browser.newPage();
    await main.addInitScript(noGpu);
    await main.goto(server.url);
    await main.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    assert.equal(said, await main.textContent('#error'));
    assert.match(said, /needs\. Use Chrome or Edge 113\+/);
    await main.close();
  } finally {
    server.close();
  }
});

test("the training page's Share button downloads a page that draws from file://", SLOW, async () => {
  const server = await serve();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const main = await context.newPage();
    const mainErrors = watchErrors(main);
    await main.goto(server.url);
    await main.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    await main.click('#start');
    await main.waitForFunction(() => Number(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= 1, null, SLOW);
    await main.click('#pause');
    await main.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
    await main.check('#share-half');
    const [download] = await Promise.all([main.waitForEvent('download', SLOW), main.click('#share')]);
    assert.match(download.suggestedFilename(), /^webgan-dcgan28-step\d+\.html$/);
    const file = join(dir, 'shared.html');
    await download.saveAs(file);
    assert.deepEqual(mainErrors, []);
    await context.close();
    await open(file);
    await ready();
    assert.match(await page.textContent('#about'), /A DCGAN generator \(dcgan28, conditional on 10 classes\).*16-bit floats/);
    assert.ok((await pixels('samples')).spread > 10);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    server.close();
  }
});

test('a page run with a uniform prior hides truncation, and so does the page it shares', SLOW, async () => {
  const server = await serve();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const main = await context.newPage();
    const mainErrors = watchErrors(main);
    await main.goto(`${server.url}?autosave=0`);
    await main.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    assert.equal(await main.isVisible('#truncation-label'), true, 'a normal prior offers truncation');
    await main.selectOption('select[name=prior]', 'uniform');
    await main.fill('input[name=width]', '4');
    await main.fill('input[name=batch]', '4');
    await main.click('#step');
    await main.waitForFunction(() => document.getElementById('stat-step').textContent === '1', null, SLOW);
    await main.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
    assert.equal(await main.isVisible('#truncation-label'), false);
    const [download] = await Promise.all([main.waitForEvent('download', SLOW), main.click('#share')]);
    const file = join(dir, 'shared-uniform.html');
    await download.saveAs(file);
    assert.deepEqual(mainErrors, []);
    await context.close();
    await open(file);
    await ready();
    assert.equal(await page.isVisible('#truncation-label'), false);
    assert.ok((await pixels('samples')).spread > 10);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    server.close();
  }
});

// InfoGAN on the training page and on its shared page, in headless Chromium with WebGPU on
// SwiftShader: choosing infogan28 sets InfoGAN's recipe (uniform noise of 62, G at 1e-3,
// batch 128, one categorical code of 10 values and 2 continuous) and shows its fields, and a
// DCGAN preset brings DCGAN's back; a small infogan28 trains on the built-in digits without
// their labels, its grid a row per value of the categorical code; the code selector and a
// slider redraw the grid, and "drawn" brings the drawn code back; Q's losses are charted; the
// checkpoint says infogan28; the page it shares draws from its file:// URL, and its selector
// and sliders change the image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { decodePng } from './fixtures.mjs';

const SLOW = { timeout: 300_000 };

let server;
let browser;
let context;
let page;
let errors;
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webgan-infogan-'));
  server = await serve();
  browser = await launch();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1000 } });
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${server.url}?autosave=3600`);
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), '1', await page.textContent('#error'));
});
after(async () => {
  await browser?.close();
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const FIELDS = ['loss', 'lrD', 'lrG', 'beta1D', 'beta1G', 'beta2', 'nz', 'batch', 'prior'];
const fields = (names = FIELDS) => page.evaluate((names) => {
  const f = document.getElementById('config').elements;
  return Object.fromEntries(names.map((n) => [n, f[n].value]));
}, names);
const visible = (name) => page.isVisible(`[name=${name}]`);

// The sample grid as the page shows it (a WebGPU canvas: a screenshot), as a string of bytes.
const grid = async () => Buffer.from(decodePng(await page.locator('#samples').screenshot()).data).toString('base64');

// Screenshots of the grid until `ok(pixels)` holds (the worker's frame reaches the page a
// little after its call returns); the last pixels.
async function gridUntil(ok, what) {
  let pixels;
  for (let i = 0; i < 50; i++) {
    pixels = await grid();
    if (ok(pixels)) return pixels;
    await page.waitForTimeout(100);
  }
  assert.fail(what);
}

// Does `act`, then waits for the page's codes to reach the session (`data-codes` counts them).
async function codesSent(act) {
  const n = Number(await page.evaluate(() => document.body.dataset.codes ?? 0));
  await act();
  await page.waitForFunction((n) => Number(document.body.dataset.codes ?? 0) > n, n, SLOW);
}

// Sets a range input to `value` as a person dragging it would (an input event).
const slide = (selector, value) => page.$eval(selector, (el, v) => {
  el.value = v;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}, value);

test('infogan28 brings InfoGAN\'s recipe and fields, and a DCGAN preset takes them away', async () => {
  const dcgan = { loss: 'bce', lrD: '0.0002', lrG: '0.0002', beta1D: '0.5', beta1G: '0.5', beta2: '0.999', nz: '100', batch: '64', prior: 'normal' };
  assert.deepEqual(await fields(), dcgan);
  assert.equal(await visible('categorical'), false);
  await page.selectOption('select[name=preset]', 'infogan28');
  assert.deepEqual(await fields(), { ...dcgan, lrG: '0.001', nz: '62', batch: '128', prior: 'uniform' });
  assert.deepEqual(await fields(['categorical', 'continuous', 'infoReg']), { categorical: '10', continuous: '2', infoReg: '1' });
  for (const name of ['categorical', 'continuous', 'infoReg']) assert.equal(await visible(name), true, name);
  assert.equal(await visible('conditional'), false, 'InfoGAN ignores the labels');
  await page.selectOption('select[name=preset]', 'dcgan28');
  assert.deepEqual(await fields(), dcgan);
  assert.equal(await visible('categorical'), false);
  assert.equal(await visible('conditional'), true);
  assert.deepEqual(errors, []);
});

let checkpointFile;

test('a small infogan28 trains on the digits; its codes redraw the grid, Q\'s losses are charted', SLOW, async () => {
  await page.selectOption('select[name=preset]', 'infogan28');
  await page.fill('input[name=width]', '4');
  await page.fill('input[name=batch]', '8');
  await page.click('#step');
  await page.waitForFunction(() => document.getElementById('stat-step').textContent === '1', null, SLOW);
  await page.click('#start');
  await page.waitForFunction(() => Number(document.getElementById('stat-step').textContent) >= 3, null, SLOW);
  await page.click('#pause');
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);

  // A row per value of the categorical code, 8 wide, of 28-pixel images with a 2-pixel gap,
  // scaled twice to about 520 pixels wide.
  const size = await page.evaluate(() => ['width', 'height'].map((k) => Number(document.getElementById('samples').dataset[k])));
  assert.deepEqual(size, [2 * (8 * 30 + 2), 2 * (10 * 30 + 2)]);
  assert.equal(await page.isVisible('#codes'), true);
  assert.equal(await page.isVisible('#truncation-label'), false, 'no truncation for uniform noise');
  assert.equal(await page.isVisible('#class-label'), false, 'no class picker');
  assert.deepEqual(await page.$$eval('#code-sliders input', (s) => s.map((e) => e.name)), ['c1', 'c2']);

  const rows = await grid();
  await codesSent(() => page.selectOption('#code-categorical', '3'));
  const three = await gridUntil((p) => p !== rows, 'value 3 in the whole grid changes it');
  await codesSent(() => slide('[name=c1]', '1.5'));
  assert.equal(await page.textContent('#code-sliders output'), '1.5');
  await gridUntil((p) => p !== three, 'c1 at 1.5 changes the grid');
  // "drawn" gives c1 back its draws: the grid of value 3 again, to the byte.
  await codesSent(() => page.click('#code-sliders button'));
  await gridUntil((p) => p === three, 'c1 drawn again brings the grid of value 3 back');

  // The walk keeps the codes: value 3, one row of 10.
  await page.click('#walk-button');
  await page.waitForFunction(() => document.getElementById('walk').width > 0, null, SLOW);
  assert.deepEqual(await page.$eval('#walk', (c) => [c.width, c.height]), [10 * 30 + 2, 30 + 2]);

  assert.equal(await page.isVisible('#chart-info'), true);
  assert.ok(Number(await page.getAttribute('#chart-info', 'data-points')) >= 3, 'Q\'s losses are charted');
  const stats = await page.evaluate(() => window.webgan.state.lastStats);
  for (const k of ['infoCategorical', 'infoContinuous']) assert.ok(Number.isFinite(stats[k]) && stats[k] >= 0, `${k}: ${stats[k]}`);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.match(download.suggestedFilename(), /^webgan-infogan28-step\d+\.safetensors$/);
  checkpointFile = await download.path();
  const bytes = await readFile(checkpointFile);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  const config = JSON.parse(header.__metadata__.config);
  assert.deepEqual(
    [config.preset, config.classes, config.categorical, config.continuous, config.info_reg_coeff, config.prior, config.nz],
    ['infogan28', 0, 10, 2, 1, 'uniform', 62],
  );

  // Loaded back, it resumes as InfoGAN, its codes drawn again.
  await page.setInputFiles('#load-checkpoint', checkpointFile);
  await page.waitForFunction(() => /^resumed at step/.test(document.body.dataset.state), null, SLOW);
  assert.deepEqual(await fields(['preset', 'nz', 'categorical', 'continuous', 'infoReg']), { preset: 'infogan28', nz: '62', categorical: '10', continuous: '2', infoReg: '1' });
  assert.equal(await page.inputValue('#code-categorical'), '-1');
  assert.equal(await page.isVisible('#codes'), true);
  await codesSent(() => page.selectOption('#code-categorical', '3'));
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
  assert.deepEqual(errors, []);
});

test('the page an InfoGAN shares draws, and its selector and sliders change the image', SLOW, async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#share')]);
  const file = join(dir, 'infogan.html');
  await writeFile(file, await readFile(await download.path()));
  const shared = await context.newPage();
  const sharedErrors = watchErrors(shared);
  await shared.goto(pathToFileURL(file).href);
  await shared.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await shared.evaluate(() => document.body.dataset.ready), '1', await shared.textContent('#error'));
  assert.match(await shared.textContent('#about'), /^An InfoGAN generator \(infogan28, with a categorical code of 10 values and 2 continuous codes\), trained for \d+ steps\./);
  assert.equal(await shared.isVisible('#truncation-label'), false);
  assert.equal(await shared.isVisible('#codes'), true);

  const pixels = () => shared.evaluate(() => {
    const c = document.getElementById('samples');
    return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join()];
  });
  const changed = async (act) => {
    const before = await pixels();
    const n = Number(await shared.evaluate(() => document.body.dataset.codes ?? 0));
    await act();
    await shared.waitForFunction((n) => Number(document.body.dataset.codes ?? 0) > n, n, SLOW);
    await shared.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    const after = await pixels();
    assert.equal(await shared.isHidden('#error'), true, await shared.textContent('#error'));
    return [before, after];
  };
  const [rows, seven] = await changed(() => shared.selectOption('#code-categorical', '7'));
  assert.deepEqual(rows.slice(0, 2), [8 * 30 + 2, 10 * 30 + 2]);
  assert.notEqual(seven[2], rows[2], 'value 7 in the whole grid changes it');
  const [, slid] = await changed(() => shared.$eval('[name=c2]', (el) => {
    el.value = '-2';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }));
  assert.notEqual(slid[2], seven[2], 'c2 at −2 changes the grid');
  assert.deepEqual(await shared.$eval('#walk', (c) => [c.width, c.height]), [10 * 30 + 2, 30 + 2]);
  assert.deepEqual(sharedErrors, []);
  await shared.close();
});

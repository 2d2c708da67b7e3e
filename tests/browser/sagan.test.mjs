// SAGAN and the gradient penalties on the training page, in headless Chromium with WebGPU on
// SwiftShader: choosing a
// SAGAN preset sets SAGAN's recipe (hinge loss, D at 4e-4 and G at 1e-4, β1 0, β2 0.9, z of
// 128; sagan64 at batch 32) and choosing DCGAN again restores DCGAN's; a small sagan32 trains
// on the built-in digits (spectral norm and self-attention on the GPU) and its samples change;
// a click on a sample shows where G's last attention block looks from that pixel; the
// checkpoint carries SAGAN's configuration and, the digits having classes, its conditional
// form. WGAN-GP from the loss menu brings its defaults and
// trains a few steps; R1 on the BCE loss too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { decodePng } from './fixtures.mjs';

const SLOW = { timeout: 300_000 };

let server;
let browser;
let page;
let errors;

before(async () => {
  server = await serve();
  browser = await launch();
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1000 } });
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${server.url}?autosave=0`);
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), '1', await page.textContent('#error'));
});
after(async () => { await browser?.close(); server?.close(); });

const fields = () => page.evaluate(() => {
  const f = document.getElementById('config').elements;
  return Object.fromEntries(['loss', 'lrD', 'lrG', 'beta1D', 'beta1G', 'beta2', 'nz', 'batch'].map((n) => [n, f[n].value]));
});

const samples = async () => decodePng(await page.locator('#samples').screenshot());

// The page's checkpoint, downloaded: its safetensors header (tensor names → entries) and the
// configuration in its metadata.
async function downloadedCheckpoint() {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const bytes = await readFile(await download.path());
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  return { header, config: JSON.parse(header.__metadata__.config) };
}

// One step of a new run with the form's settings, the page paused after it.
async function oneNewStep() {
  await page.click('#reset');
  await page.waitForFunction(() => document.getElementById('stat-step').textContent === '0', null, SLOW);
  await page.click('#step');
  await page.waitForFunction(() => document.getElementById('stat-step').textContent === '1', null, SLOW);
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
}

test('a SAGAN preset brings SAGAN\'s recipe, and DCGAN\'s comes back with a DCGAN preset', async () => {
  const dcgan = { loss: 'bce', lrD: '0.0002', lrG: '0.0002', beta1D: '0.5', beta1G: '0.5', beta2: '0.999', nz: '100', batch: '64' };
  assert.deepEqual(await fields(), dcgan);
  await page.selectOption('select[name=preset]', 'sagan32');
  const sagan = { loss: 'hinge', lrD: '0.0004', lrG: '0.0001', beta1D: '0', beta1G: '0', beta2: '0.9', nz: '128', batch: '64' };
  assert.deepEqual(await fields(), sagan);
  // Within SAGAN, a person's choices stay; sagan64 halves the batch (its attention map).
  await page.fill('input[name=lrG]', '0.0003');
  await page.selectOption('select[name=preset]', 'sagan64');
  assert.deepEqual(await fields(), { ...sagan, lrG: '0.0003', batch: '32' });
  await page.selectOption('select[name=preset]', 'dcgan28');
  assert.deepEqual(await fields(), dcgan);
  assert.deepEqual(errors, []);
});

test('a small sagan32 trains on the built-in digits and its checkpoint says SAGAN', async () => {
  await page.selectOption('select[name=preset]', 'sagan32');
  await page.fill('input[name=width]', '8');
  await page.fill('input[name=nz]', '16');
  await page.fill('input[name=batch]', '4');
  await page.click('#step');
  await page.waitForFunction(() => document.getElementById('stat-step').textContent === '1', null, SLOW);
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
  const first = await samples();
  const levels = new Set();
  for (let i = 0; i < first.data.length; i += 4) levels.add(first.data[i]);
  assert.ok(levels.size > 20, `the sample grid is not blank (${levels.size} levels of red)`);
  await page.click('#start');
  await page.waitForFunction(() => Number(document.getElementById('stat-step').textContent) >= 3, null, SLOW);
  await page.click('#pause');
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
  const second = await samples();
  let changed = 0;
  for (let i = 0; i < first.data.length; i++) if (first.data[i] !== second.data[i]) changed++;
  assert.ok(changed > 100, `the samples change as G trains (${changed} bytes differ)`);

  // Where G looks: a click on the first sample's pixel (20, 10) shows attn2's weights there.
  assert.equal(await page.isVisible('#attention-view'), true);
  const box = await page.locator('#samples').boundingBox();
  const [width, height] = await page.evaluate(() => [document.getElementById('samples').dataset.width, document.getElementById('samples').dataset.height].map(Number));
  // The grid's images are 32 pixels with a 2-pixel gap around each.
  await page.mouse.click(box.x + ((2 + 20.5) / width) * box.width, box.y + ((2 + 10.5) / height) * box.height);
  await page.waitForFunction(() => /^Sample 1, pixel/.test(document.getElementById('attention-note').textContent), null, SLOW);
  const note = await page.textContent('#attention-note');
  const [, x, y, qx, qy] = note.match(/^Sample 1, pixel \((\d+), (\d+)\): attn2 attends from position \((\d+), (\d+)\) of its 16×16 map/).map(Number);
  // Within a pixel of the one aimed at (the mouse lands on whole CSS pixels), in the map's
  // position that covers it (16 positions over 32 pixels).
  assert.ok(Math.abs(x - 20) <= 1 && Math.abs(y - 10) <= 1, note);
  assert.deepEqual([qx, qy], [Math.floor(x / 2), Math.floor(y / 2)], note);
  const attention = decodePng(await page.locator('#attention').screenshot());
  const reds = new Set();
  for (let i = 0; i < attention.data.length; i += 4) reds.add(attention.data[i]);
  assert.ok(reds.size > 20, `the attention view is drawn (${reds.size} levels of red)`);
  // A click between two samples shows nothing new.
  await page.mouse.click(box.x + (1 / width) * box.width, box.y + (1 / height) * box.height);

  const { header, config } = await downloadedCheckpoint();
  assert.equal(config.preset, 'sagan32');
  assert.equal(config.loss, 'hinge');
  assert.deepEqual([config.d_optimizer.beta1, Number(config.d_optimizer.beta2.toFixed(6))], [0, 0.9]);
  for (const name of ['netG.attn2.gamma', 'netG.l1.0.weight_u', 'netD.attn1.query_conv.weight', 'netD.l3.0.weight_orig']) {
    assert.ok(header[name], `the checkpoint holds ${name}`);
  }
  // The digits' classes condition it in the paper's form: class-conditional batch norm in G, a
  // projection in D.
  assert.equal(config.classes, 10);
  for (const name of ['netG.l1.1.embed.weight', 'netG.l1.1.bn.running_mean', 'netD.embed.weight_orig']) {
    assert.ok(header[name], `the checkpoint holds ${name}`);
  }
  assert.equal(header['netG.l1.1.weight'], undefined, 'no unconditional batch norm');
  assert.deepEqual(errors, []);
});

test('WGAN-GP and R1 train from the page, with WGAN-GP\'s defaults', async () => {
  await page.selectOption('select[name=preset]', 'dcgan28');
  await page.selectOption('select[name=loss]', 'wgan-gp');
  assert.deepEqual(await fields(), { loss: 'wgan-gp', lrD: '0.0001', lrG: '0.0001', beta1D: '0', beta1G: '0', beta2: '0.9', nz: '100', batch: '4' });
  assert.equal(await page.inputValue('input[name=k]'), '5');
  await page.fill('input[name=width]', '4');
  await page.fill('input[name=k]', '2');
  await oneNewStep();
  const { header, config } = await downloadedCheckpoint();
  assert.deepEqual([config.loss, config.lambda_gp, config.r1, config.d_steps], ['wgan-gp', 10, null, 2]);
  // Without batch norm in D: its second conv is followed by the activation at once.
  assert.ok(!header['netD.main.3.running_mean'], 'D has no batch norm');

  await page.selectOption('select[name=loss]', 'bce');
  await page.fill('input[name=r1]', '5');
  await oneNewStep();
  assert.equal((await downloadedCheckpoint()).config.r1, 5);
  assert.deepEqual(errors, []);
});

// CycleGAN in the page, as a person uses it, in headless Chromium with WebGPU on SwiftShader: a
// zip with trainA/ and trainB/ selects CycleGAN and shows the loader's summary; a tiny CycleGAN
// trains, its held-out examples are translated both ways and its losses are finite and charted;
// a person's own picture is translated either way and downloads; either generator downloads as
// ONNX; the checkpoint downloads and loads back; a reload offers the autosave, domains and all; a lost device and a NaN are
// recovered; a checkpoint of the other family, a zip without two domains and one with an empty
// domain are refused in a sentence. The tests run in order and share one page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import {
  unpairedZip, twoClassZip, png, zip, decodePng, dcganCheckpointHeader, onnxSummary,
} from './fixtures.mjs';

const ARTIFACTS = new URL('./artifacts/', import.meta.url);
const SLOW = { timeout: 300_000 };

let server;
let browser;
let context;
let page;
let errors;

before(async () => {
  server = await serve();
  browser = await launch();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1000 } });
  await mkdir(ARTIFACTS, { recursive: true });
  page = await context.newPage();
  errors = watchErrors(page);
  // Autosaves every 2 s, so that a pause always leaves one.
  await page.goto(`${server.url}?autosave=2`);
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), '1', await page.textContent('#error'));
});
after(async () => { await browser?.close(); server?.close(); });

const step = async () => Number((await page.textContent('#stat-step')).replace(/,/g, ''));
const waitStep = (pred, n) => page.waitForFunction(
  ([p, k]) => {
    const s = Number(document.getElementById('stat-step').textContent.replace(/,/g, ''));
    return p === 'eq' ? s === k : s >= k;
  }, [pred, n], SLOW);
const waitState = (s) => page.waitForFunction((want) => document.body.dataset.state === want, s, SLOW);
const visible = (selector) => page.isVisible(selector);

// The translations canvas's pixels (a 2D canvas: read straight from it).
const translations = () => page.evaluate(() => {
  const c = document.getElementById('translations');
  return { width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
});

test('a zip with trainA/ and trainB/ selects CycleGAN, with the loader\'s summary and its options', async () => {
  await page.setInputFiles('#zip-input', { name: 'shapes.zip', mimeType: 'application/zip', buffer: unpairedZip() });
  await page.waitForFunction(() => /shapes\.zip/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  assert.equal(await page.textContent('#dataset-summary'),
    'shapes.zip: trainA: 6 images, trainB: 6 images, 18×18 after resizing; held out testA: 2 images, testB: 2 images. ' +
    'CycleGAN at 16×16: each step a random 16×16 crop of the 18×18 images.');
  assert.equal(await page.inputValue('select[name=family]'), 'cyclegan');
  // The images' own 16 pixels, below the page's 64 and 128.
  assert.deepEqual(await page.$$eval('select[name=size] option', (o) => o.map((x) => x.value)), ['16', '64', '128']);
  assert.equal(await page.inputValue('select[name=size]'), '16');
  // The reference's defaults; D's layers as many as leave a patch at 16 pixels.
  for (const [name, value] of [['lambdaA', '10'], ['lambdaB', '10'], ['lambdaIdt', '0.5'], ['pool', '50'], ['cbatch', '1'], ['epochs', '100'], ['epochsDecay', '100'], ['blocks', '6'], ['layersD', '2']]) {
    assert.equal(await page.inputValue(`input[name=${name}]`), value, name);
  }
  assert.match(await page.textContent('#schedule'), /^200 epochs of 6 steps: 1,200 steps, the learning rate falling linearly to zero over the last 100\.$/);
  // DCGAN's controls are hidden, CycleGAN's shown; the views follow the family.
  for (const s of ['select[name=preset]', 'input[name=nz]', 'select[name=loss]', 'input[name=batch]', '#samples', '#walk-button', '#measure']) {
    assert.equal(await visible(s), false, `${s} is hidden`);
  }
  for (const s of ['input[name=lambdaA]', 'select[name=size]', 'input[name=width]', '#picture-drop', '#chart-cycle-cycle']) {
    assert.equal(await visible(s), true, `${s} is shown`);
  }
  assert.equal(await page.evaluate(() => document.getElementById('translations').hidden), false);
  assert.equal(await page.isHidden('#dataset-advice'), true);
  assert.deepEqual(errors, []);
});

test('a tiny CycleGAN trains: held-out examples translated both ways, finite losses on the charts', async () => {
  await page.fill('input[name=width]', '2');
  await page.fill('input[name=blocks]', '1');
  await page.fill('input[name=layersD]', '1');
  await page.click('#step');
  await waitStep('eq', 1);
  await waitState('paused');
  // Two held-out examples of each domain, a row each: real, translated, and back.
  const first = await translations();
  assert.deepEqual([first.width, first.height], [3 * 18 + 2, 4 * 18 + 2]);
  const levels = new Set();
  for (let i = 0; i < first.data.length; i += 4) levels.add(first.data.slice(i, i + 3).join());
  assert.ok(levels.size > 20, `the translations are drawn (${levels.size} colours)`);

  await page.click('#start');
  await waitStep('ge', 4);
  await page.screenshot({ path: new URL('page-cyclegan.png', ARTIFACTS).pathname, fullPage: true });
  await page.click('#pause');
  await waitState('paused');
  // The translations are shown again at least every few hundred ms of training, as they change.
  await page.click('#step');
  await waitState('paused');
  const second = await translations();
  let changed = 0;
  for (let i = 0; i < first.data.length; i++) if (first.data[i] !== second.data[i]) changed++;
  assert.ok(changed > 100, `the translations change as the generators train (${changed} bytes differ)`);

  const stats = await page.evaluate(() => window.webgan.state.lastStats);
  for (const name of ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B']) {
    assert.ok(Number.isFinite(stats[name]), `${name} is ${stats[name]}`);
  }
  assert.ok(stats.cycle_A > 0 && stats.cycle_B > 0, `the cycle losses are positive (${stats.cycle_A}, ${stats.cycle_B})`);
  assert.ok(Math.abs(stats.lr - 1) < 1e-6, `the first epochs train at the full rate (${stats.lr})`);
  for (const id of ['chart-cycle-d', 'chart-cycle-g', 'chart-cycle-cycle', 'chart-cycle-idt']) {
    const points = Number(await page.getAttribute(`#${id}`, 'data-points'));
    assert.ok(points >= 2, `${id} has ${points} points`);
  }
  assert.equal(await visible('#chart-loss'), false, "DCGAN's charts are hidden");
  assert.match(await page.textContent('#stat-speed'), /\d/);
  // An epoch is 6 steps here.
  assert.equal(await page.textContent('#stat-epoch'), ((await step()) / 6).toFixed(2));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-png')]);
  const grid = decodePng(await readFile(await download.path()));
  assert.deepEqual([grid.width, grid.height], [first.width, first.height]);
  assert.deepEqual(errors, []);
});

test('a picture of one\'s own is translated either way, and its translation downloads', async () => {
  // 24×24: resized to the model's 16.
  await page.setInputFiles('#picture-input', { name: 'mine.png', mimeType: 'image/png', buffer: png(24, (x, y) => [x * 10, y * 10, 128]) });
  await page.waitForFunction(() => /mine\.png A → B \(G_A\) at step \d+, at 16×16\./.test(document.getElementById('translate-note').textContent), null, SLOW);
  // The picture beside its translation.
  assert.deepEqual(await page.evaluate(() => [document.getElementById('translation').width, document.getElementById('translation').height]), [2 * 18 + 2, 18 + 2]);
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-translation')]);
  assert.equal(download.suggestedFilename(), `mine-AtoB-step${at}.png`);
  const translated = decodePng(await readFile(await download.path()));
  assert.deepEqual([translated.width, translated.height], [16, 16]);
  await page.selectOption('#direction', 'BtoA');
  await page.waitForFunction(() => /mine\.png B → A \(G_B\)/.test(document.getElementById('translate-note').textContent), null, SLOW);

  // A file that is no picture is refused in a sentence; what was shown stays.
  await page.setInputFiles('#picture-input', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
  await page.waitForFunction(() => /Could not translate notes\.png/.test(document.getElementById('translate-note').textContent), null, SLOW);
  assert.match(await page.textContent('#translate-note'), /^Could not translate notes\.png: [^\n]+\.$/);
  assert.deepEqual(errors, []);
});

test('either generator downloads as an ONNX model, as the direction menu says', async () => {
  const at = await step();
  for (const [direction, network] of [['BtoA', 'netG_B'], ['AtoB', 'netG_A']]) {
    await page.selectOption('#direction', direction);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
    assert.equal(download.suggestedFilename(), `webgan-cyclegan16-${direction}-step${at}.onnx`);
    const model = onnxSummary(await readFile(await download.path()));
    assert.deepEqual(model.opsets, [{ domain: '', version: 17 }]);
    assert.deepEqual([model.inputs, model.outputs], [['image'], ['output']]);
    assert.equal(model.metadata.network, network);
  }
  assert.deepEqual(errors, []);
});

test('the CycleGAN checkpoint downloads and loads back; a DCGAN one is refused in a sentence', async () => {
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.equal(download.suggestedFilename(), `webgan-cyclegan16-step${at}.safetensors`);
  const bytes = await readFile(await download.path());
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  assert.equal(header.__metadata__.family, 'cyclegan');
  assert.equal(header.__metadata__.step, String(at));
  for (const net of ['netG_A', 'netG_B', 'netD_A', 'netD_B']) {
    assert.ok(Object.keys(header).some((k) => k.startsWith(`${net}.`)), `${net} is saved`);
  }
  const config = JSON.parse(header.__metadata__.config);
  assert.deepEqual([config.size, config.ngf, config.n_blocks, config.n_layers_D, config.pool_size, config.lambda_identity, config.epoch_steps], [16, 2, 1, 1, 50, 0.5, 6]);

  await page.click('#step');
  await waitStep('eq', at + 1);
  await page.setInputFiles('#load-checkpoint', { name: 'back.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await waitStep('eq', at);
  assert.match(await page.textContent('#stat-state'), new RegExp(`resumed at step ${at} from back\\.safetensors`));
  assert.equal(await page.inputValue('select[name=family]'), 'cyclegan');
  assert.equal(await page.inputValue('input[name=blocks]'), '1');
  await page.click('#step');
  await waitStep('eq', at + 1);

  await page.setInputFiles('#load-checkpoint', { name: 'digits.safetensors', mimeType: 'application/octet-stream', buffer: dcganCheckpointHeader() });
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  assert.match(await page.textContent('#error'), /^Could not load digits\.safetensors: this checkpoint holds a DCGAN run, and the dataset loaded is CycleGAN's two unpaired domains [^.]+\.$/);
  assert.equal(await step(), at + 1, 'the run stays');
  assert.deepEqual(errors, []);
});

test('a reload offers the CycleGAN autosave, which resumes on its two domains with its charts', async () => {
  await page.click('#step');
  await waitState('paused');
  const at = await step();
  await page.waitForFunction((s) => document.body.dataset.autosavedStep === String(s), at, SLOW);
  const points = Number(await page.getAttribute('#chart-cycle-d', 'data-points'));
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  await page.waitForSelector('#offer:not([hidden])', SLOW);
  assert.match(await page.textContent('#offer-text'), new RegExp(`CycleGAN 16×16 at step ${at} on shapes\\.zip`));
  await page.click('#offer-resume');
  await waitStep('eq', at);
  assert.match(await page.textContent('#dataset-summary'), /^shapes\.zip: trainA: 6 images, trainB: 6 images, 18×18 after resizing/);
  assert.equal(await page.inputValue('select[name=family]'), 'cyclegan');
  assert.equal(Number(await page.getAttribute('#chart-cycle-d', 'data-points')), points, 'the charts come back');
  assert.equal((await translations()).width, 3 * 18 + 2, 'the translations are shown');
  await page.click('#step');
  await waitStep('eq', at + 1);
  assert.deepEqual(errors, []);
});

test('a lost GPU device and a NaN loss are recovered in a CycleGAN run too', async () => {
  await page.click('#start');
  await waitStep('ge', (await step()) + 1);
  await page.evaluate(() => window.webgan.loseDevice());
  await page.waitForFunction(() => document.body.dataset.recovered === '1', null, SLOW);
  assert.match(await page.textContent('#error'), /The GPU device was lost .*goes on/);
  await waitStep('ge', (await step()) + 1);
  // A NaN in one of D_A's weights: the next losses are NaN.
  await page.evaluate(() => window.webgan.poison());
  await page.waitForSelector('#diverged:not([hidden])', SLOW);
  const text = await page.textContent('#diverged-text');
  assert.match(text, /diverged at step \d+: a loss became NaN or infinite.*Roll back to step \d+, then lower the learning rates\.$/);
  const back = Number(text.match(/Roll back to step (\d+)/)[1]);
  await page.click('#rollback');
  await waitStep('eq', back);
  await page.click('#step');
  await waitStep('eq', back + 1);
  await waitState('paused');
  assert.equal(await page.isHidden('#diverged'), true, 'the rolled-back run trains cleanly');
  assert.deepEqual(errors, []);
});

test('zips that are not two usable domains are refused in a sentence', async () => {
  // A zip of classes reads as DCGAN's; asked to serve CycleGAN, it says what it holds.
  await page.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: twoClassZip() });
  await page.waitForFunction(() => /two\.zip: 24 images in 2 classes/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  assert.equal(await page.inputValue('select[name=family]'), 'dcgan');
  await page.selectOption('select[name=family]', 'cyclegan');
  await page.waitForFunction(() => /Could not use two\.zip for CycleGAN/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  assert.match(await page.textContent('#dataset-summary'), /^Could not use two\.zip for CycleGAN: .*not two unpaired domains: those are trainA\/ and trainB\/ folders.*\. The previous dataset \(two\.zip\) is still loaded\.$/);

  // A domain without a single image.
  const empty = zip([['trainA/0.png', png(16, () => [200, 0, 0])], ['trainB/readme.txt', Buffer.from('no pictures here')]]);
  await page.setInputFiles('#zip-input', { name: 'empty.zip', mimeType: 'application/zip', buffer: empty });
  await page.waitForFunction(() => /empty\.zip/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  assert.match(await page.textContent('#dataset-summary'), /^Could not use empty\.zip: .*trainB\/ holds no images: each domain needs some\. The previous dataset \(two\.zip\) is still loaded\.$/);
  assert.deepEqual(errors, []);
});

test('one picture per domain and none held out: it trains, showing those pictures translated', async () => {
  await page.setInputFiles('#zip-input', { name: 'tiny.zip', mimeType: 'application/zip', buffer: unpairedZip(1, 0) });
  await page.waitForFunction(() => /^tiny\.zip: trainA: 1 image, trainB: 1 image, 18×18 after resizing\./.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  assert.match(await page.textContent('#schedule'), /^200 epochs of 1 step: 200 steps/);
  await page.fill('input[name=layersD]', '1');
  await page.click('#reset');
  await waitState('ready');
  assert.equal(await step(), 0);
  // Without held-out pictures, each domain's first training picture is the example.
  const shown = await translations();
  assert.deepEqual([shown.width, shown.height], [3 * 18 + 2, 2 * 18 + 2]);
  await page.click('#step');
  await waitStep('eq', 1);
  await waitState('paused');
  assert.ok(Number.isFinite((await page.evaluate(() => window.webgan.state.lastStats)).cycle_A));
  assert.deepEqual(errors, []);
});

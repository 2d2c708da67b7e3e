// pix2pix in the page, as a person uses it, in headless Chromium with WebGPU on SwiftShader: a
// zip of pairs in A/ and B/ folders selects pix2pix with the loader's summary and the
// reference's defaults; a tiny pix2pix trains, its fixed pairs shown as input | output | target
// and its losses finite and charted; a person's own picture is translated A → B and downloads;
// the generator downloads as ONNX; the checkpoint downloads and loads back; a reload offers the
// autosave, pairs and all; a lost device and a NaN are recovered; side-by-side pairs in train/
// and val/ show their held-out pairs and train with lsgan; small pictures train at 32; a picture
// not holding two halves, pairs of different sizes, A pictures without a B, and a zip of classes
// are refused in a sentence while the run goes on. The tests run in order and share one page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import {
  pairedZip, pairPictures, picture, png, zip, twoClassZip, decodePng, dcganCheckpointHeader,
  onnxSummary,
} from './fixtures.mjs';

const ARTIFACTS = new URL('./artifacts/', import.meta.url);
const SLOW = { timeout: 300_000 };
// The grid's cells: 64 pixels, 2 between and around them (train::sample::GRID_GAP).
const SIDE = 64;
const CELL = SIDE + 2;

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
const summaryMatches = (re) => page.waitForFunction(
  (source) => new RegExp(source).test(document.getElementById('dataset-summary').textContent), re.source, SLOW);

// The translations canvas's pixels (a 2D canvas: read straight from it).
const translations = () => page.evaluate(() => {
  const c = document.getElementById('translations');
  return { width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
});

// The pixels of the grid's cell in `row` and `column` (0 input, 1 output, 2 target), as [r, g, b].
function cell(grid, row, column) {
  const pixels = [];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const o = ((2 + row * CELL + y) * grid.width + 2 + column * CELL + x) * 4;
      pixels.push(grid.data.slice(o, o + 3));
    }
  }
  return pixels;
}

// How many of `pixels` are near `colour` (each channel within 60).
const near = (pixels, colour) => pixels.filter((p) => p.every((v, k) => Math.abs(v - colour[k]) < 60)).length;
const RED = [200, 30, 30];
const GREEN = [30, 160, 30];
const BLUE = [30, 40, 200];

// The input cell holds A's outline (red, or green for held-out pairs) and no disc; the target
// cell B's blue disc and no outline; the output cell is drawn (not the grid's dark gray).
function assertPanels(grid, row, outline) {
  const [input, output, target] = [0, 1, 2].map((k) => cell(grid, row, k));
  assert.ok(near(input, outline) > 50, `row ${row}: the input shows A's outline (${near(input, outline)} pixels)`);
  assert.equal(near(input, BLUE), 0, `row ${row}: the input shows no disc`);
  assert.ok(near(target, BLUE) > 500, `row ${row}: the target shows B's disc (${near(target, BLUE)} pixels)`);
  assert.equal(near(target, outline), 0, `row ${row}: the target shows no outline`);
  assert.ok(output.filter((p) => p.join() !== '40,40,40').length > SIDE * SIDE / 2, `row ${row}: the output is drawn`);
}

test('a zip of A/ and B/ folders selects pix2pix, with the loader\'s summary and the reference\'s defaults', async () => {
  await page.setInputFiles('#zip-input', { name: 'pairs.zip', mimeType: 'application/zip', buffer: pairedZip({ train: 4, lone: 1 }) });
  await summaryMatches(/pairs\.zip/);
  assert.equal(await page.textContent('#dataset-summary'),
    'pairs.zip: 4 pairs (matched by name), 72×72 after resizing; skipped 1: A/lone0.png (no partner of the same name in B/). ' +
    'pix2pix at 64×64: each step one random 64×64 crop of both 72×72 pictures of a pair.');
  assert.equal(await page.inputValue('select[name=family]'), 'pix2pix');
  assert.deepEqual(await page.$$eval('select[name=size] option', (o) => o.map((x) => x.value)), ['64', '128']);
  assert.equal(await page.inputValue('select[name=size]'), '64');
  assert.match(await page.textContent('#skipped'), /A\/lone0\.png: no partner of the same name in B\//);
  // The reference's defaults (Pix2PixRun::new): λ_L1 100, vanilla GAN loss, ngf = ndf = 64, the
  // 70×70 PatchGAN, batch 1, Adam 2e-4 with β1 0.5, 100 epochs then 100 decaying.
  for (const [name, value] of [['lambdaL1', '100'], ['width', '64'], ['layersD', '3'], ['cbatch', '1'], ['epochs', '100'], ['epochsDecay', '100'],
    ['lrG', '0.0002'], ['lrD', '0.0002'], ['beta1G', '0.5'], ['beta1D', '0.5']]) {
    assert.equal(await page.inputValue(`input[name=${name}]`), value, name);
  }
  assert.equal(await page.inputValue('select[name=ganMode]'), 'vanilla');
  assert.deepEqual(await page.$$eval('select[name=ganMode] option', (o) => o.map((x) => x.value)), ['vanilla', 'lsgan']);
  assert.equal(await page.isChecked('input[name=flip]'), true);
  assert.match(await page.textContent('#schedule'), /^200 epochs of 4 steps: 800 steps, the learning rate falling linearly to zero over the last 100\.$/);
  // DCGAN's and CycleGAN's own controls are hidden, pix2pix's shown; the views follow.
  for (const s of ['select[name=preset]', 'input[name=nz]', 'input[name=batch]', '#samples', '#walk-button',
    'input[name=lambdaA]', 'input[name=blocks]', 'input[name=pool]', '#direction', '#chart-cycle-d', '#chart-loss']) {
    assert.equal(await visible(s), false, `${s} is hidden`);
  }
  for (const s of ['input[name=lambdaL1]', 'select[name=ganMode]', 'select[name=size]', 'input[name=layersD]', 'input[name=cbatch]',
    '#picture-drop', '#chart-p2p-d', '#chart-p2p-gan', '#chart-p2p-l1']) {
    assert.equal(await visible(s), true, `${s} is shown`);
  }
  assert.equal(await page.evaluate(() => document.getElementById('translations').hidden), false);
  assert.equal(await page.isHidden('#dataset-advice'), true);
  assert.deepEqual(errors, []);
});

test('a tiny pix2pix trains: its first training pairs as input | output | target, finite losses on its charts', async () => {
  await page.fill('input[name=width]', '2');
  await page.fill('input[name=layersD]', '1');
  await page.click('#step');
  await waitStep('eq', 1);
  await waitState('paused');
  // No val/ or test/ split: the first four training pairs, a row each.
  assert.equal(await page.textContent('#examples-note'), 'The first 4 training pairs: the zip holds no val/ or test/ pairs to hold out.');
  const first = await translations();
  assert.deepEqual([first.width, first.height], [3 * CELL + 2, 4 * CELL + 2]);
  for (let row = 0; row < 4; row++) assertPanels(first, row, RED);

  await page.click('#start');
  await waitStep('ge', 4);
  await page.screenshot({ path: new URL('page-pix2pix.png', ARTIFACTS).pathname, fullPage: true });
  await page.click('#pause');
  await waitState('paused');
  await page.click('#step');
  await waitState('paused');
  const second = await translations();
  // Inputs and targets stay; G's outputs change as it trains.
  const bytes = (grid, column) => cell(grid, 0, column).flat();
  assert.deepEqual(bytes(second, 0), bytes(first, 0), 'the inputs stay');
  assert.deepEqual(bytes(second, 2), bytes(first, 2), 'the targets stay');
  let changed = 0;
  for (let row = 0; row < 4; row++) {
    const [a, b] = [cell(first, row, 1).flat(), cell(second, row, 1).flat()];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
  }
  assert.ok(changed > 100, `the outputs change as G trains (${changed} bytes differ)`);

  const stats = await page.evaluate(() => window.webgan.state.lastStats);
  for (const name of ['G_GAN', 'G_L1', 'D_real', 'D_fake']) {
    assert.ok(Number.isFinite(stats[name]), `${name} is ${stats[name]}`);
  }
  // λ_L1 times a mean absolute difference between G's output and the target.
  assert.ok(stats.G_L1 > 0 && stats.G_L1 < 200, `G_L1 is ${stats.G_L1}`);
  assert.ok(stats.D_real > 0 && stats.D_fake > 0, `the vanilla GAN losses are positive (${stats.D_real}, ${stats.D_fake})`);
  assert.ok(Math.abs(stats.lr - 1) < 1e-6, `the first epochs train at the full rate (${stats.lr})`);
  for (const id of ['chart-p2p-d', 'chart-p2p-gan', 'chart-p2p-l1']) {
    const points = Number(await page.getAttribute(`#${id}`, 'data-points'));
    assert.ok(points >= 2, `${id} has ${points} points`);
  }
  assert.equal(await visible('#chart-cycle-d'), false, "CycleGAN's charts are hidden");
  assert.match(await page.textContent('#stat-speed'), /\d/);
  // An epoch is the 4 pairs once.
  assert.equal(await page.textContent('#stat-epoch'), ((await step()) / 4).toFixed(2));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-png')]);
  assert.match(download.suggestedFilename(), /^webgan-translations-step\d+\.png$/);
  const grid = decodePng(await readFile(await download.path()));
  assert.deepEqual([grid.width, grid.height], [first.width, first.height]);
  assert.deepEqual(errors, []);
});

test('a picture of one\'s own is translated A → B, and its translation downloads', async () => {
  // 48×48: resized to the model's 64.
  await page.setInputFiles('#picture-input', { name: 'mine.png', mimeType: 'image/png', buffer: png(48, pairPictures(2, 48).a) });
  await page.waitForFunction(() => /mine\.png A → B \(G\) at step \d+, at 64×64\./.test(document.getElementById('translate-note').textContent), null, SLOW);
  // The picture beside its translation; pix2pix translates one way only.
  assert.deepEqual(await page.evaluate(() => [document.getElementById('translation').width, document.getElementById('translation').height]), [2 * CELL + 2, CELL + 2]);
  assert.equal(await visible('#direction'), false, 'no direction to choose');
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-translation')]);
  assert.equal(download.suggestedFilename(), `mine-AtoB-step${at}.png`);
  const translated = decodePng(await readFile(await download.path()));
  assert.deepEqual([translated.width, translated.height], [SIDE, SIDE]);

  // A file that is no picture is refused in a sentence.
  await page.setInputFiles('#picture-input', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
  await page.waitForFunction(() => /Could not translate notes\.png/.test(document.getElementById('translate-note').textContent), null, SLOW);
  assert.match(await page.textContent('#translate-note'), /^Could not translate notes\.png: [^\n]+\.$/);
  assert.deepEqual(errors, []);
});

test('the U-Net downloads as an ONNX model that takes an image', async () => {
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
  assert.equal(download.suggestedFilename(), `webgan-pix2pix64-step${at}.onnx`);
  const model = onnxSummary(await readFile(await download.path()));
  assert.deepEqual(model.opsets, [{ domain: '', version: 17 }]);
  assert.deepEqual([model.inputs, model.outputs], [['image'], ['output']]);
  assert.deepEqual(model.metadata, { family: 'pix2pix', network: 'netG', step: String(at) });
  assert.deepEqual(errors, []);
});

test('the pix2pix checkpoint downloads, loads back and trains on; a DCGAN one is refused in a sentence', async () => {
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.equal(download.suggestedFilename(), `webgan-pix2pix64-step${at}.safetensors`);
  const bytes = await readFile(await download.path());
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  assert.equal(header.__metadata__.family, 'pix2pix');
  assert.equal(header.__metadata__.step, String(at));
  for (const net of ['netG', 'netD']) {
    assert.ok(Object.keys(header).some((k) => k.startsWith(`${net}.`)), `${net} is saved`);
  }
  const config = JSON.parse(header.__metadata__.config);
  assert.deepEqual(
    [config.size, config.ngf, config.ndf, config.num_downs, config.n_layers_D, config.lambda_L1, config.gan_mode, config.batch_size, config.norm, config.use_dropout, config.epoch_steps],
    [64, 2, 2, 6, 1, 100, 'vanilla', 1, 'batch', true, 4]);

  await page.click('#step');
  await waitStep('eq', at + 1);
  await page.setInputFiles('#load-checkpoint', { name: 'back.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await waitStep('eq', at);
  assert.match(await page.textContent('#stat-state'), new RegExp(`resumed at step ${at} from back\\.safetensors`));
  assert.equal(await page.inputValue('select[name=family]'), 'pix2pix');
  assert.equal(await page.inputValue('input[name=width]'), '2');
  assert.equal(await page.inputValue('input[name=layersD]'), '1');
  await page.click('#step');
  await waitStep('eq', at + 1);
  assert.ok(Number.isFinite((await page.evaluate(() => window.webgan.state.lastStats)).G_L1));

  await page.setInputFiles('#load-checkpoint', { name: 'digits.safetensors', mimeType: 'application/octet-stream', buffer: dcganCheckpointHeader() });
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  assert.match(await page.textContent('#error'), /^Could not load digits\.safetensors: this checkpoint holds a DCGAN run, and the dataset loaded is pix2pix's pairs[^.]+\.$/);
  assert.equal(await step(), at + 1, 'the run stays');
  assert.deepEqual(errors, []);
});

test('a reload offers the pix2pix autosave, which resumes on its pairs with its charts', async () => {
  await page.click('#step');
  await waitState('paused');
  const at = await step();
  await page.waitForFunction((s) => document.body.dataset.autosavedStep === String(s), at, SLOW);
  const points = Number(await page.getAttribute('#chart-p2p-l1', 'data-points'));
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  await page.waitForSelector('#offer:not([hidden])', SLOW);
  assert.match(await page.textContent('#offer-text'), new RegExp(`pix2pix 64×64 at step ${at} on pairs\\.zip`));
  await page.click('#offer-resume');
  await waitStep('eq', at);
  assert.match(await page.textContent('#dataset-summary'), /^pairs\.zip: 4 pairs \(matched by name\), 72×72 after resizing/);
  assert.equal(await page.inputValue('select[name=family]'), 'pix2pix');
  assert.equal(Number(await page.getAttribute('#chart-p2p-l1', 'data-points')), points, 'the charts come back');
  const shown = await translations();
  assert.deepEqual([shown.width, shown.height], [3 * CELL + 2, 4 * CELL + 2], 'the translations are shown');
  assertPanels(shown, 0, RED);
  await page.click('#step');
  await waitStep('eq', at + 1);
  assert.deepEqual(errors, []);
});

test('a lost GPU device and a NaN loss are recovered in a pix2pix run too', async () => {
  await page.click('#start');
  await waitStep('ge', (await step()) + 1);
  await page.evaluate(() => window.webgan.loseDevice());
  await page.waitForFunction(() => document.body.dataset.recovered === '1', null, SLOW);
  assert.match(await page.textContent('#error'), /The GPU device was lost .*goes on/);
  await waitStep('ge', (await step()) + 1);
  // A NaN in one of netD's weights: the next losses are NaN.
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

test('side-by-side pairs in train/ and val/: the held-out val/ pairs are shown, and lsgan trains', async () => {
  await page.setInputFiles('#zip-input', { name: 'sbs.zip', mimeType: 'application/zip', buffer: pairedZip({ layout: 'sideBySide', train: 3, heldOut: 2 }) });
  await summaryMatches(/^sbs\.zip/);
  assert.equal(await page.textContent('#dataset-summary'),
    'sbs.zip: 3 pairs (side by side) from train/, 72×72 after resizing; 2 held out from val/. ' +
    'pix2pix at 64×64: each step one random 64×64 crop of both 72×72 pictures of a pair.');
  assert.equal(await page.inputValue('select[name=family]'), 'pix2pix');
  assert.match(await page.textContent('#config-note'), /The run goes on with its own data/);
  await page.fill('input[name=layersD]', '1');
  await page.selectOption('select[name=ganMode]', 'lsgan');
  assert.match(await page.textContent('#schedule'), /^200 epochs of 3 steps: 600 steps/);
  await page.click('#reset');
  await waitState('ready');
  assert.equal(await step(), 0);
  assert.equal(await page.textContent('#examples-note'), 'The first 2 held-out pairs, which training never sees.');
  const shown = await translations();
  assert.deepEqual([shown.width, shown.height], [3 * CELL + 2, 2 * CELL + 2]);
  // val/'s pairs, whose outlines are green: not the training pairs' red ones.
  for (let row = 0; row < 2; row++) assertPanels(shown, row, GREEN);
  await page.click('#step');
  await waitStep('eq', 1);
  await waitState('paused');
  const stats = await page.evaluate(() => window.webgan.state.lastStats);
  assert.ok(['G_GAN', 'G_L1', 'D_real', 'D_fake'].every((k) => Number.isFinite(stats[k])), JSON.stringify(stats));
  assert.equal(await page.evaluate(() => window.webgan.state.config.gan_mode), 'lsgan');
  assert.deepEqual(errors, []);
});

test('pictures smaller than 64 pixels train at 32, the U-Net\'s smallest', async () => {
  await page.setInputFiles('#zip-input', { name: 'small.zip', mimeType: 'application/zip', buffer: pairedZip({ train: 2, side: 24 }) });
  await summaryMatches(/^small\.zip/);
  assert.match(await page.textContent('#dataset-summary'), /^small\.zip: 2 pairs \(matched by name\), 36×36 after resizing\. pix2pix at 32×32:/);
  assert.deepEqual(await page.$$eval('select[name=size] option', (o) => o.map((x) => x.textContent)), ['32×32 · for small images', '64×64', '128×128']);
  await page.fill('input[name=layersD]', '1');
  await page.click('#reset');
  await waitState('ready');
  const shown = await translations();
  assert.deepEqual([shown.width, shown.height], [3 * 34 + 2, 2 * 34 + 2]);
  await page.click('#step');
  await waitStep('eq', 1);
  await waitState('paused');
  assert.ok(Number.isFinite((await page.evaluate(() => window.webgan.state.lastStats)).G_L1));
  assert.deepEqual(errors, []);
});

test('pairs that cannot be used are refused in a sentence, and the run goes on', async () => {
  const at = await step();
  const kept = ' The previous dataset (small.zip) is still loaded.';
  // A picture in train/ that is not twice as wide as high holds no pair.
  const square = zip([['train/0.png', png(64, () => [90, 90, 90])], ['val/0.png', picture(128, 64, () => [90, 90, 90])]]);
  await page.setInputFiles('#zip-input', { name: 'square.zip', mimeType: 'application/zip', buffer: square });
  await summaryMatches(/^Could not use square\.zip/);
  assert.equal(await page.textContent('#dataset-summary'),
    'Could not use square.zip: cannot load the dataset: train/0.png is 64×64 pixels, but each image in train/ should hold a pair side by side, A on the left half ' +
    'and B on the right, so about twice as wide as high (a zip of single images trains with dcgan; pairs may also be A/ and B/ folders ' +
    `of images matched by name).${kept}`);

  // The two pictures of each pair differ in size.
  const { a, b } = pairPictures(0, 64);
  const unequal = zip([['A/0.png', png(64, a)], ['B/0.png', png(48, b)], ['A/1.png', png(64, a)], ['B/1.png', picture(64, 48, b)]]);
  await page.setInputFiles('#zip-input', { name: 'unequal.zip', mimeType: 'application/zip', buffer: unequal });
  await summaryMatches(/^Could not use unequal\.zip/);
  assert.equal(await page.textContent('#dataset-summary'),
    'Could not use unequal.zip: cannot load the dataset: none of the 2 pairs could be used: ' +
    'A/0.png (it is 64×64 and its partner B/0.png is 48×48: the two pictures of a pair must be the same size), ' +
    'B/0.png (it is 48×48 and its partner A/0.png is 64×64: the two pictures of a pair must be the same size), ' +
    'A/1.png (it is 64×64 and its partner B/1.png is 64×48: the two pictures of a pair must be the same size), ' +
    `B/1.png (it is 64×48 and its partner A/1.png is 64×64: the two pictures of a pair must be the same size).${kept}`);

  // A pictures whose B is missing.
  const unmatched = zip([['A/0.png', png(64, a)], ['A/1.png', png(64, a)], ['B/2.png', png(64, b)]]);
  await page.setInputFiles('#zip-input', { name: 'unmatched.zip', mimeType: 'application/zip', buffer: unmatched });
  await summaryMatches(/^Could not use unmatched\.zip/);
  assert.equal(await page.textContent('#dataset-summary'),
    'Could not use unmatched.zip: cannot load the dataset: no image in A/ has a partner of the same name (less its extension) in B/: ' +
    `A/ holds A/0.png, A/1.png; B/ holds B/2.png.${kept}`);

  // The run trains on as it was.
  assert.equal(await page.inputValue('select[name=family]'), 'pix2pix');
  await page.click('#step');
  await waitStep('eq', at + 1);
  await waitState('paused');
  assert.ok(Number.isFinite((await page.evaluate(() => window.webgan.state.lastStats)).G_L1));

  // A zip of classes reads as DCGAN's; asked to serve pix2pix, it says what it holds.
  await page.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: twoClassZip() });
  await summaryMatches(/^two\.zip: 24 images in 2 classes/);
  assert.equal(await page.inputValue('select[name=family]'), 'dcgan');
  await page.selectOption('select[name=family]', 'pix2pix');
  await summaryMatches(/^Could not use two\.zip for pix2pix/);
  assert.match(await page.textContent('#dataset-summary'),
    /^Could not use two\.zip for pix2pix: cannot load the dataset: this zip holds 24 images in 2 class folders \(across, down\), not pairs: pairs are A\/ and B\/ folders .*\. The previous dataset \(two\.zip\) is still loaded\.$/);
  assert.deepEqual(errors, []);
});

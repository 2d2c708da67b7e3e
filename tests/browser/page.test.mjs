// The training page as a person uses it, in headless Chromium with WebGPU on SwiftShader: the
// digits load, a zip of two classes is chosen, a tiny GAN trains and its samples change, the
// charts fill, a checkpoint downloads and loads again, the generator downloads as ONNX, a
// reload offers the autosave, a corrupt zip is refused without losing the dataset, a lost
// device and a diverged run are recovered, GPU errors are shown once, a zip is decoded only as
// far as training uses it. The tests run in order and share one browser profile (IndexedDB
// included). (That the session runs in a worker is worker.test.mjs's business.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { onnxSummary } from './fixtures.mjs';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { twoClassZip, decodePng, zip, png } from './fixtures.mjs';

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
});
after(async () => { await browser?.close(); server?.close(); });

// Autosaves every 2 s, so that a pause always leaves one.
const URL_UNDER_TEST = () => `${server.url}?autosave=2`;

async function open() {
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(URL_UNDER_TEST());
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), '1', await page.textContent('#error'));
}

const step = async () => Number((await page.textContent('#stat-step')).replace(/,/g, ''));
const waitStep = (pred, n) => page.waitForFunction(
  ([p, k]) => {
    const s = Number(document.getElementById('stat-step').textContent.replace(/,/g, ''));
    return p === 'eq' ? s === k : s >= k;
  }, [pred, n], SLOW);

async function pause() {
  await page.click('#pause');
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
}

// The sample canvas as the page shows it.
async function samples() {
  return decodePng(await page.locator('#samples').screenshot());
}

test('the page loads the built-in digits, ready to start, with no console errors', async () => {
  await open();
  assert.match(await page.textContent('#dataset-summary'), /the built-in digits: 10,000 images in 10 classes/);
  assert.match(await page.textContent('#adapter'), /GPU: .+/);
  assert.ok(await page.evaluate(() => document.getElementById('thumbs').width > 100), 'real thumbnails are drawn');
  assert.equal(await page.isEnabled('#start'), true);
  assert.equal(await page.isHidden('#error'), true);
  assert.deepEqual(errors, []);
});

test('a zip with two class folders is read through the file input, with its report', async () => {
  await page.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: twoClassZip() });
  await page.waitForFunction(() => /two\.zip/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  const summary = await page.textContent('#dataset-summary');
  assert.match(summary, /two\.zip: 24 images in 2 classes: across \(12\), down \(12\); 28×28 gray/);
  assert.match(await page.textContent('#skipped'), /Skipped 1 file/);
  assert.match(await page.innerHTML('#skipped ul'), /across\/notes\.txt: not an image/);
  assert.equal(await page.inputValue('select[name=preset]'), 'dcgan28');
  assert.equal(await page.isChecked('input[name=conditional]'), true);
  // 24 images: the page suggests DiffAugment, and leaves the choice to the person.
  assert.match(await page.textContent('#dataset-advice'), /24 images is a small dataset.*DiffAugment/);
  assert.equal(await page.inputValue('select[name=augment]'), 'none');
  assert.deepEqual(errors, []);
});

test('a tiny GAN trains: the samples are drawn and change, and the charts get points', async () => {
  await page.fill('input[name=width]', '4');
  await page.fill('input[name=nz]', '8');
  await page.fill('input[name=batch]', '8');
  // The paper's DiffAugment, as the advice suggests for 24 images, and samples from a moving
  // average of G.
  await page.selectOption('select[name=augment]', 'color,translation,cutout');
  await page.fill('input[name=ema]', '0.9');
  await page.click('#step');
  await waitStep('eq', 1);
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
  const first = await samples();
  const values = new Set();
  for (let i = 0; i < first.data.length; i += 4) values.add(first.data[i]);
  assert.ok(values.size > 20, `the sample grid is not blank (${values.size} gray levels)`);
  // Two classes: a row each, 8 samples wide.
  assert.equal(await page.$$eval('#class option', (o) => o.map((x) => x.textContent).join('|')), 'a row per class|class across|class down');

  await page.click('#start');
  await waitStep('ge', 4);
  await page.screenshot({ path: new URL('page-training.png', ARTIFACTS).pathname, fullPage: true });
  await pause();
  const second = await samples();
  assert.equal(second.data.length, first.data.length);
  let changed = 0;
  for (let i = 0; i < first.data.length; i++) if (first.data[i] !== second.data[i]) changed++;
  assert.ok(changed > 100, `the samples change as G trains (${changed} bytes differ)`);
  for (const id of ['chart-loss', 'chart-d', 'chart-accuracy']) {
    const points = Number(await page.getAttribute(`#${id}`, 'data-points'));
    assert.ok(points >= 2, `${id} has ${points} points`);
  }
  assert.match(await page.textContent('#stat-speed'), /\d/);
  // 24 images train like any other dataset; only the quality measure needs 200, and says so.
  await page.click('#measure');
  await page.waitForFunction(() => /^Not measured: the Fréchet distance needs at least 200 images, and this dataset has 24\.$/.test(document.getElementById('quality').textContent), null, SLOW);
  assert.deepEqual(errors, []);
});

test('playing with the generator: one class, new noise, a latent walk, the grid as PNG', async () => {
  const before = await samples();
  const differs = (a, b) => a.data.length !== b.data.length || a.data.some((v, i) => v !== b.data[i]);
  await page.selectOption('#class', '1');
  // The worker sizes the grid's OffscreenCanvas; the page's canvas shows the size it took.
  await page.waitForFunction(() => Number(document.getElementById('samples').dataset.height) > 100, null, SLOW);
  const oneClass = await samples();
  assert.ok(differs(before, oneClass), 'a single class fills the grid');
  // 8×8 of one class: the canvas is square now (it was 2 rows of 8).
  const { width, height, box } = await page.evaluate(() => {
    const c = document.getElementById('samples');
    return { width: Number(c.dataset.width), height: Number(c.dataset.height), box: c.getBoundingClientRect().toJSON() };
  });
  assert.equal(width, height);
  assert.ok(Math.abs(box.width - box.height) < 2, `the canvas is shown square (${box.width}×${box.height})`);
  await page.click('#new-noise');
  await page.waitForTimeout(300);
  const fresh = await samples();
  assert.ok(differs(oneClass, fresh), 'new noise draws other samples');
  // The truncation trick redraws z's values outside ±ψ: other samples; off again, the same.
  const truncate = (psi) => page.$eval('#truncation', (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input'));
    el.dispatchEvent(new Event('change'));
  }, psi);
  await truncate('0.2');
  assert.equal(await page.textContent('#truncation-value'), '0.20');
  await page.waitForTimeout(300);
  assert.ok(differs(fresh, await samples()), 'ψ 0.2 draws other samples');
  await truncate('0');
  assert.equal(await page.textContent('#truncation-value'), 'off');
  await page.waitForTimeout(300);
  assert.ok(!differs(fresh, await samples()), 'without truncation the same noise draws the same samples');
  await page.click('#walk-button');
  await page.waitForFunction(() => document.getElementById('walk').width > 0, null, SLOW);
  assert.equal(await page.evaluate(() => document.getElementById('walk').width), 10 * 30 + 2, 'ten 28-pixel images with 2-pixel gaps');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-png')]);
  const png = decodePng(await readFile(await download.path()));
  assert.deepEqual([png.width, png.height], [8 * 30 + 2, 8 * 30 + 2]);
  await page.selectOption('#class', '-1');
  assert.deepEqual(errors, []);
});

test('the checkpoint downloads, and loading it goes back to its step', async () => {
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.match(download.suggestedFilename(), new RegExp(`webgan-dcgan28-step${at}\\.safetensors`));
  const bytes = await readFile(await download.path());
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  assert.ok(header['netG.main.0.weight'] || Object.keys(header).some((k) => k.startsWith('netG.')), 'G weights');
  assert.equal(header.__metadata__.step, String(at));
  // The run of the test before keeps G's moving average and augments what D sees.
  assert.ok(header['netG_ema.main.0.weight'], 'the moving average of G is saved');
  const config = JSON.parse(header.__metadata__.config);
  assert.equal(config.augment, 'color,translation,cutout');
  assert.ok(Math.abs(config.ema - 0.9) < 1e-6, `ema ${config.ema}`);

  await page.click('#step');
  await waitStep('eq', at + 1);
  await page.setInputFiles('#load-checkpoint', { name: 'back.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await waitStep('eq', at);
  assert.match(await page.textContent('#stat-state'), new RegExp(`resumed at step ${at} from back.safetensors`));
  // The form shows the checkpoint's settings, these two included.
  assert.equal(await page.inputValue('select[name=augment]'), 'color,translation,cutout');
  assert.equal(await page.inputValue('input[name=ema]'), '0.9');
  // It trains on from there.
  await page.click('#step');
  await waitStep('eq', at + 1);

  // A file that is not a checkpoint is refused, and the run stays.
  await page.setInputFiles('#load-checkpoint', { name: 'junk.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('junk junk junk') });
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  assert.match(await page.textContent('#error'), /Could not load junk\.safetensors/);
  assert.equal(await step(), at + 1);
  assert.deepEqual(errors, []);
});

test('the generator downloads as an ONNX model: the moving average, with z and the class', async () => {
  const at = await step();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
  assert.equal(download.suggestedFilename(), `webgan-dcgan28-step${at}.onnx`);
  const model = onnxSummary(await readFile(await download.path()));
  assert.equal(model.irVersion, 8);
  assert.deepEqual(model.opsets, [{ domain: '', version: 17 }]);
  assert.equal(model.producer, 'webgan');
  assert.deepEqual([model.inputs, model.outputs], [['z', 'class'], ['output']]);
  assert.ok(model.nodes > 5, `${model.nodes} nodes`);
  assert.deepEqual(model.metadata, { family: 'dcgan', network: 'netG_ema', step: String(at) });
  assert.deepEqual(errors, []);
});

test('a reload offers the autosave, which resumes the run on its dataset with its charts', async () => {
  await page.click('#start');
  await waitStep('ge', (await step()) + 1);
  await pause();
  const at = await step();
  await page.waitForFunction((s) => document.body.dataset.autosavedStep === String(s), at, SLOW);
  // Autosaved every 2 s since the first test trained, the dataset written once.
  assert.ok(Number(await page.evaluate(() => document.body.dataset.autosaves)) >= 2);
  assert.equal(await page.evaluate(() => document.body.dataset.datasetWrites), '1');
  const points = Number(await page.getAttribute('#chart-loss', 'data-points'));
  assert.ok(points >= 2, `the loss chart has ${points} points`);
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  await page.waitForSelector('#offer:not([hidden])', SLOW);
  assert.match(await page.textContent('#offer-text'), new RegExp(`dcgan28 at step ${at} on two\\.zip`));
  await page.click('#offer-resume');
  await waitStep('eq', at);
  assert.match(await page.textContent('#dataset-summary'), /two\.zip: 24 images in 2 classes/);
  assert.equal(await page.inputValue('input[name=width]'), '4');
  assert.equal(Number(await page.getAttribute('#chart-loss', 'data-points')), points, 'the charts come back');
  await page.click('#step');
  await waitStep('eq', at + 1);
  await page.waitForFunction((s) => document.body.dataset.autosavedStep === String(s), at + 1, SLOW);
  assert.equal(Number(await page.getAttribute('#chart-loss', 'data-points')), points + 1);
  assert.equal(await page.evaluate(() => document.body.dataset.datasetWrites), undefined, 'the stored dataset is not written again');
  assert.deepEqual(errors, []);
});

test('a corrupt zip is refused with a clear message, and the previous dataset stays usable', async () => {
  await page.setInputFiles('#zip-input', { name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('PK\u0003\u0004 this is not really a zip') });
  await page.waitForFunction(() => /broken\.zip/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  const text = await page.textContent('#dataset-summary');
  assert.match(text, /Could not use broken\.zip: .*not a readable zip/);
  assert.match(text, /The previous dataset \(two\.zip\) is still loaded/);
  // Reset starts a new run on the dataset still loaded.
  await page.click('#reset');
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, SLOW);
  await page.click('#step');
  await waitStep('eq', 1);
  assert.equal(await page.$$eval('#class option', (o) => o.length), 3);
  assert.deepEqual(errors, []);
});

test('a lost GPU device is recovered from the last checkpoint and training goes on', async () => {
  await page.click('#start');
  await waitStep('ge', 2);
  await page.evaluate(() => window.webgan.loseDevice());
  await page.waitForFunction(() => document.body.dataset.recovered === '1', null, SLOW);
  assert.match(await page.textContent('#error'), /The GPU device was lost .*goes on/);
  const after = await step();
  await waitStep('ge', after + 1);
  await pause();
  assert.deepEqual(errors, []);
});

test('a diverging run pauses and rolls back to its checkpoint', async () => {
  await page.click('#reset');
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, SLOW);
  await page.click('#start');
  await waitStep('ge', 1);
  // A NaN in one of D's weights: the next losses are NaN, computed and detected on the GPU.
  await page.evaluate(() => window.webgan.poison());
  await page.waitForSelector('#diverged:not([hidden])', SLOW);
  const text = await page.textContent('#diverged-text');
  assert.match(text, /diverged at step \d+: a loss became NaN or infinite.*Roll back to step \d+/);
  const back = Number(text.match(/Roll back to step (\d+)/)[1]);
  assert.equal(await page.isEnabled('#pause'), false);
  await page.click('#rollback');
  await waitStep('eq', back);
  assert.equal(await page.isHidden('#diverged'), true);
  await page.click('#step');
  await waitStep('eq', back + 1);
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
  assert.equal(await page.isHidden('#diverged'), true, 'the rolled-back run trains cleanly');
  assert.deepEqual(errors, []);
});

test('a GPU error during training is shown once, in words', async () => {
  const before = await step();
  await page.evaluate(() => window.webgan.causeGpuError());
  await page.evaluate(() => window.webgan.causeGpuError());
  await page.click('#step');
  await waitStep('eq', before + 1);
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  const text = await page.textContent('#error');
  assert.match(text, /^The GPU reported an error: [^.]+\.$/, 'one sentence');
  assert.doesNotMatch(text, /[[\]{}]|::|Descriptor|Usage/, 'no type names');
  // The same error again is not shown again.
  await page.evaluate(() => window.webgan.causeGpuError());
  await page.click('#step');
  await waitStep('eq', before + 2);
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, SLOW);
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
  assert.deepEqual(errors.filter((e) => !/GPU error/.test(e)), []);
});

test('a GPU error while building a run is named, not taken for a model too large', async () => {
  const before = await step();
  await page.evaluate(() => window.webgan.breakNextBuild());
  await page.click('#reset');
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  const text = await page.textContent('#error');
  assert.match(text, /^The GPU refused to build dcgan28 at batch 8: [^.]+\.$/, 'one sentence');
  assert.doesNotMatch(text, /cannot hold|[[\]{}]|::/);
  assert.equal(await step(), before, 'the run there was goes on');
  await page.click('#step');
  await waitStep('eq', before + 1);
  assert.deepEqual(errors.filter((e) => !/GPU error/.test(e)), []);
});

test('a model too large for the GPU is refused with a suggestion, and the run there was goes on', async () => {
  const before = await step();
  await page.selectOption('select[name=preset]', 'dcgan64');
  await page.fill('input[name=width]', '64');
  await page.fill('input[name=batch]', '1024');
  await page.click('#reset');
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, SLOW);
  // Refused from the configuration alone, before the GPU is asked, naming the buffer too large.
  assert.match(await page.textContent('#error'), /^A dcgan64 of width 64 at batch 1024 is too large for a GPU: G's input to layer main\.10 would take 256 MiB, and one GPU buffer holds 128 MiB; choose a smaller batch, width \(ngf, ndf\) or preset\.$/);
  assert.equal(await step(), before);
  await page.click('#step');
  await waitStep('eq', before + 1);
  await page.screenshot({ path: new URL('page-end.png', ARTIFACTS).pathname, fullPage: true });
  assert.deepEqual(errors.filter((e) => !/GPU error/.test(e)), []);
});

// Seven minutes on SwiftShader (the classifier trains for 300 steps): not in every CI run. The
// measure itself is tested natively (tests/quality.rs); this checks the page's path to it.
const SLOW_TESTS = process.env.WEBGAN_SLOW_BROWSER_TESTS === '1';
test('the quality measure on the built-in digits: a Fréchet distance on the chart', {
  skip: !SLOW_TESTS && 'about 7 minutes on SwiftShader: set WEBGAN_SLOW_BROWSER_TESTS=1',
}, async () => {
  await page.click('#use-digits');
  await page.waitForFunction(() => /the built-in digits/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  await page.selectOption('select[name=preset]', 'dcgan28');
  await page.fill('input[name=width]', '4');
  await page.fill('input[name=batch]', '8');
  await page.click('#reset');
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, SLOW);
  await page.click('#measure');
  await page.waitForFunction(() => /Fréchet distance at step 0: \d/.test(document.getElementById('quality').textContent), null, { timeout: 600_000 });
  const d = Number((await page.textContent('#quality')).match(/step 0: ([\d.]+)/)[1]);
  assert.ok(d > 0, `an untrained generator is far from the data (${d})`);
  assert.equal(await page.getAttribute('#chart-quality', 'data-points'), '1');
  assert.deepEqual(errors.filter((e) => !/GPU error/.test(e)), []);
});

test('a zip is decoded only as far as training will use it, and the page says so', async () => {
  const p = await context.newPage();
  const errs = watchErrors(p);
  try {
    await p.goto(`${server.url}?maxImages=10`);
    await p.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    await p.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: twoClassZip() });
    await p.waitForFunction(() => /two\.zip/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
    // Ten of 24, evenly spread: both classes keep their half.
    assert.equal(await p.textContent('#dataset-summary'),
      'two.zip: 10 images in 2 classes: across (5), down (5); 28×28 gray. ' +
      "Used 10 of the zip's 24 images, as many as training holds at this size.");
    assert.deepEqual(errs, []);
  } finally {
    await p.close();
  }
});

// Five pictures without classes: the features come from the untrained feature network, so the
// check needs no classifier training and runs in seconds. (That a memorising run is reported as
// copying is tested natively, in tests/copies.rs.)
test('the copy check: samples beside their nearest training images, a copy rate and a diversity', async () => {
  const p = await context.newPage();
  const errs = watchErrors(p);
  try {
    await p.goto(server.url);
    await p.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    const five = zip([0, 1, 2, 3, 4].map((i) => [`${i}.png`, png(28, (x, y) => Array(3).fill(((x >> i) + y) % 2 ? 230 : 20))]));
    await p.setInputFiles('#zip-input', { name: 'five.zip', mimeType: 'application/zip', buffer: five });
    await p.waitForFunction(() => /five\.zip: 5 images/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
    await p.fill('input[name=width]', '4');
    await p.fill('input[name=batch]', '4');
    await p.click('#reset');
    await p.waitForFunction(() => document.body.dataset.state === 'ready', null, SLOW);
    await p.click('#measure');
    await p.waitForFunction(() => document.getElementById('copies').dataset.copyRate !== undefined, null, SLOW);
    assert.match(await p.textContent('#quality'), /^Not measured: the Fréchet distance needs at least 200 images, and this dataset has 5\.$/);
    const text = await p.textContent('#copies');
    assert.match(text, /^At step 0: copy rate \d+\.\d% — of 1000 samples, that many lie nearer to one of the 5 training images/);
    const { rate, diversity } = await p.evaluate(() => ({
      rate: Number(document.getElementById('copies').dataset.copyRate),
      diversity: Number(document.getElementById('copies').dataset.diversity),
    }));
    assert.ok(rate >= 0 && rate <= 1, `copy rate ${rate}`);
    assert.ok(Number.isFinite(diversity) && diversity >= 0, `diversity ${diversity}`);
    // An untrained generator varies far less than five distinct pictures: the page says so.
    assert.ok(diversity < 0.5, `diversity of an untrained generator ${diversity}`);
    assert.match(await p.textContent('#copies-warning'), /may have collapsed onto a few outputs.*Augment: color, translation, cutout/);
    // 16 pairs, 8 images a row: the right-hand image of each pair is one of the five pictures.
    const pairs = await p.evaluate(() => {
      const c = document.getElementById('copies-pairs');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const levels = new Set();
      for (let i = 0; i < d.length; i += 4) levels.add(d[i]);
      return { width: c.width, height: c.height, levels: levels.size };
    });
    assert.ok(pairs.width > pairs.height && pairs.height > 4 * 28, JSON.stringify(pairs));
    assert.ok(pairs.levels > 2, `the pairs are drawn (${pairs.levels} gray levels)`);
    assert.equal(await p.isVisible('#copies-pairs'), true);
    assert.deepEqual(errs, []);
  } finally {
    await p.close();
  }
});

test('a browser without WebGPU is told which browsers and flags give it', async () => {
  const bare = await browser.newContext();
  try {
    await bare.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    const p = await bare.newPage();
    const errs = watchErrors(p);
    await p.goto(server.url);
    await p.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    assert.equal(await p.evaluate(() => document.body.dataset.ready), 'error');
    assert.match(await p.textContent('#error'), /no WebGPU.*Chrome or Edge 113\+.*--enable-unsafe-webgpu/);
    assert.equal(await p.isDisabled('#start'), true);
    assert.deepEqual(errs, []);
  } finally {
    await bare.close();
  }
});

// The benchmark page runs and reports: the shape of window.benchResult, never its speed (speed is
// the benchmark's business, not a test's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); server?.close(); });

async function result(query) {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(new URL(`bench.html?${query}`, server.url).href);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 300_000 });
  const r = await page.evaluate(() => window.benchResult);
  await page.close();
  return { r, errors };
}

test('bench.html times training steps and reports them with the adapter', async () => {
  const { r, errors } = await result('preset=dcgan28&batch=4&steps=2&warmup=1&reps=2');
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.preset, 'dcgan28');
  assert.equal(r.batch, 4);
  assert.equal(r.steps, 2);
  assert.equal(r.rep_ms_per_step.length, 2);
  assert.ok(r.ms_per_step > 0 && Number.isFinite(r.ms_per_step), `ms_per_step ${r.ms_per_step}`);
  assert.ok(Math.abs(r.images_per_s - 4000 / r.ms_per_step) < 0.1, `images/s ${r.images_per_s}`);
  assert.equal(r.adapter.architecture, 'swiftshader');
  assert.ok(Number.isFinite(r.d_loss) && Number.isFinite(r.g_loss));
  assert.deepEqual(errors, []);
});

test('bench.html times the image-to-image families on noise, at batch 1', async () => {
  for (const [preset, loss] of [['pix2pix64', 'G_L1'], ['cyclegan64', 'cycle_A']]) {
    const { r, errors } = await result(`preset=${preset}&ngf=2&ndf=2&steps=1&warmup=1`);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.preset, preset);
    assert.equal(r.batch, 1);
    assert.ok(r.ms_per_step > 0 && Number.isFinite(r.ms_per_step), `ms_per_step ${r.ms_per_step}`);
    assert.ok(r.losses.finite && Number.isFinite(r.losses[loss]), JSON.stringify(r.losses));
    assert.deepEqual(errors, []);
  }
});

test('bench.html refuses a bad query with a sentence', async () => {
  const { r } = await result('preset=dcgan99');
  assert.match(r.error, /unknown preset dcgan99/);
  const { r: r2 } = await result('batch=1');
  assert.match(r2.error, /batch=1 is not a whole number in 2…1024/);
});

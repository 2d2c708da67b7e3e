// A run started in PyTorch under torchrun (python/webgan_torch, two processes on the CPU) comes
// back to the page: "Load checkpoint" takes its checkpoint, the page shows its step and settings,
// and training goes on from there. Needs the native CLI (target/debug/webgan, for
// export-dataset) and the Python environment `./build.sh test` makes (target/python-env).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { twoClassZip, decodePng } from './fixtures.mjs';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const WEBGAN = process.env.WEBGAN ?? join(ROOT, 'target/debug/webgan');
const PYTHON = join(ROOT, 'target/python-env/bin/python');
const SLOW = { timeout: 300_000 };

let server;
let browser;
let dir;

before(async () => {
  for (const [path, what] of [[WEBGAN, 'the native CLI (cargo build)'], [PYTHON, 'the Python environment (./build.sh test makes it)']]) {
    await access(path).catch(() => { throw new Error(`${path} is missing: this test needs ${what}`); });
  }
  dir = await mkdtemp(join(tmpdir(), 'webgan-torch-'));
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a run trained in PyTorch under torchrun loads into the page and trains on', async () => {
  const zip = join(dir, 'two.zip');
  await writeFile(zip, twoClassZip());
  const data = join(dir, 'two.safetensors');
  await run(WEBGAN, ['export-dataset', '--data', zip, '--preset', 'dcgan28', '--out', data]);
  const out = join(dir, 'run');
  // Debian's torch 1.13 under Python 3.11 reads torchrun's default --redirects/--tee as nothing;
  // a rank that does not exist means "no redirection" for all.
  const { stderr } = await run(PYTHON, [
    '-m', 'torch.distributed.run', '--redirects', '9:1', '--tee', '9:1', '--nproc_per_node', '2',
    '-m', 'webgan_torch.train', '--data', data, '--preset', 'dcgan28', '--ngf', '4', '--ndf', '4',
    '--batch', '8', '--ema', '0.9', '--steps', '3', '--every', '0', '--out', out,
  ], { env: { ...process.env, PYTHONPATH: join(ROOT, 'python') }, timeout: 240_000 });
  assert.match(stderr, /over 2 processes/);
  const bytes = await readFile(join(out, 'checkpoint.safetensors'));

  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchErrors(page);
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
    await page.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: await readFile(zip) });
    await page.waitForFunction(() => /two\.zip: 24 images/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
    await page.setInputFiles('#load-checkpoint', { name: 'torch.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
    const stepIs = (n) => page.waitForFunction((k) => Number(document.getElementById('stat-step').textContent.replace(/,/g, '')) === k, n, SLOW);
    await stepIs(3);
    assert.match(await page.textContent('#stat-state'), /resumed at step 3 from torch\.safetensors/);
    // The form shows the run's settings as PyTorch kept them.
    assert.equal(await page.inputValue('input[name=width]'), '4');
    assert.equal(await page.inputValue('input[name=batch]'), '8');
    assert.equal(await page.inputValue('input[name=ema]'), '0.9');
    await page.click('#step');
    await stepIs(4);
    const shot = decodePng(await page.locator('#samples').screenshot());
    const levels = new Set();
    for (let i = 0; i < shot.data.length; i += 4) levels.add(shot.data[i]);
    assert.ok(levels.size > 20, `the samples are drawn (${levels.size} gray levels)`);
    // And back: the page's checkpoint of step 4 is one PyTorch reads.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const back = join(dir, 'back.safetensors');
    await download.saveAs(back);
    const { stdout } = await run(PYTHON, ['-c', 'import sys, webgan_torch; print(webgan_torch.load(sys.argv[1]).step)', back],
      { env: { ...process.env, PYTHONPATH: join(ROOT, 'python') } });
    assert.equal(stdout.trim(), '4');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

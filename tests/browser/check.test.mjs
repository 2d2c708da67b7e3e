// The page loads, finds WebGPU, and every kernel of the self-check agrees with the CPU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); server?.close(); });

test('the self-check passes on the browser GPU with no console errors', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(new URL('check.html', server.url).href);
  await page.waitForFunction(() => document.body.dataset.selfCheck, null, { timeout: 120_000 });
  const verdict = await page.textContent('#verdict');
  const rows = await page.$$eval('#checks tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(await page.evaluate(() => document.body.dataset.selfCheck), 'passed', `${verdict}\n${rows.join('\n')}`);
  assert.equal(rows.length, 18, `expected 18 checks, got ${rows}`);
  // Named even where the browser keeps the adapter's name back (SwiftShader reports none).
  assert.match(await page.textContent('#adapter'), /^Adapter: \S/);
  // Chromium's SwiftShader has subgroups, and webgan asks for them past wgpu (src/web/subgroups.rs).
  assert.equal(await page.evaluate(() => document.body.dataset.subgroups), 'true');
  // And the start-up probe found their size (0 would mean lanes out of order: no subgroups).
  assert.match(await page.textContent('#adapter'), /, with subgroups of \d+ lanes$/);
  await mkdir(new URL('./artifacts/', import.meta.url), { recursive: true });
  await page.screenshot({ path: new URL('./artifacts/self-check.png', import.meta.url).pathname });
  assert.deepEqual(errors, []);
});

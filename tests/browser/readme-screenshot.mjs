// The README's screenshot of the page mid-training: loads a checkpoint (e.g. one that
// `webgan train` wrote on the built-in digits), trains on for a few steps in headless Chromium,
// and saves the page.
//   node tests/browser/readme-screenshot.mjs CHECKPOINT OUT.png [STEPS]
import { readFile } from 'node:fs/promises';
import { launch } from './browser.mjs';
import { serve } from './server.mjs';

const [checkpoint, out, steps = '3'] = process.argv.slice(2);
if (!checkpoint || !out) {
  console.error('usage: node tests/browser/readme-screenshot.mjs CHECKPOINT OUT.png [STEPS]');
  process.exit(2);
}
const server = await serve();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 120_000 });
  await page.setInputFiles('#load-checkpoint', { name: 'checkpoint.safetensors', mimeType: 'application/octet-stream', buffer: await readFile(checkpoint) });
  await page.waitForFunction(() => /resumed at step/.test(document.body.dataset.state), null, { timeout: 300_000 });
  const start = Number((await page.textContent('#stat-step')).replace(/,/g, ''));
  await page.click('#start');
  await page.waitForFunction((s) => Number(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= s,
    start + Number(steps), { timeout: 1_800_000 });
  await page.click('#pause');
  await page.waitForFunction(() => document.body.dataset.state === 'paused', null, { timeout: 600_000 });
  await page.click('#walk-button', { timeout: 300_000 });
  await page.waitForFunction(() => document.getElementById('walk').width > 0, null, { timeout: 300_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out} at step ${await page.textContent('#stat-step')}`);
} catch (e) {
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    console.error('state:', await page.evaluate(() => [document.body.dataset.state, document.getElementById('error').textContent]));
    await page.screenshot({ path: `${out}.failed.png`, fullPage: true });
  }
  throw e;
} finally {
  await browser.close();
  server.close();
}

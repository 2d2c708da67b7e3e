// The README's screenshot of a generator page (webgan export --format html): opens the page from
// its file:// URL with every other request aborted, shows `class` (for a conditional model; a
// row per class otherwise) and a walk, and saves the page.
//   node tests/browser/share-screenshot.mjs PAGE.html OUT.png [CLASS]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch } from './browser.mjs';

const [file, out, cls] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: node tests/browser/share-screenshot.mjs PAGE.html OUT.png [CLASS]');
  process.exit(2);
}
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await context.route('**/*', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
  const page = await context.newPage();
  await page.goto(pathToFileURL(resolve(file)).href);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 600_000 });
  if (await page.evaluate(() => document.body.dataset.ready) !== '1') throw new Error(await page.textContent('#error'));
  if (cls !== undefined) {
    const draws = Number(await page.evaluate(() => document.body.dataset.draws));
    await page.selectOption('#class', cls);
    await page.waitForFunction((n) => Number(document.body.dataset.draws) >= n, draws + 2, { timeout: 600_000 });
  }
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}

// What the footer promises, "nothing leaves this page", held by a Content-Security-Policy on
// every page: a request to another origin is refused, from the page and from its session worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';
import { twoClassZip } from './fixtures.mjs';

const SLOW = { timeout: 300_000 };

let server;
let other;
let browser;
before(async () => {
  server = await serve();
  other = await serve(); // another port: another origin
  browser = await launch();
});
after(async () => { await browser?.close(); server?.close(); other?.close(); });

// A no-cors fetch of another origin succeeds (opaquely) unless a policy refuses it; resolves to
// the directive that refused it, or 'fetched'.
function tryFetch(url) {
  const refused = new Promise((resolve) => {
    self.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
  });
  return fetch(url, { mode: 'no-cors' }).then(() => 'fetched', () => refused);
}

for (const file of ['index.html', 'check.html', 'bench.html']) {
  test(`${file} carries a Content-Security-Policy that names no other origin`, async () => {
    const page = await browser.newPage();
    await page.goto(new URL(`${file}?preset=none`, server.url).href);
    const policy = await page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    await page.close();
    assert.ok(policy, 'the policy is there');
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.match(policy, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(policy, /https?:|\*|'unsafe-inline'|'unsafe-eval'/);
  });
}

test('a request to another origin is refused, from the page and from the session worker', async () => {
  assert.equal((await fetch(other.url)).status, 200, 'the other origin answers when asked directly');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.ready, null, SLOW);
  assert.equal(await page.evaluate(tryFetch, other.url), 'connect-src');

  await page.setInputFiles('#zip-input', { name: 'two.zip', mimeType: 'application/zip', buffer: twoClassZip() });
  await page.waitForFunction(() => /two\.zip: 24 images/.test(document.getElementById('dataset-summary').textContent), null, SLOW);
  const [worker] = page.workers();
  assert.ok(worker, 'the session worker is running');
  assert.equal(await worker.evaluate(tryFetch, other.url), 'connect-src');
  await page.close();
  // The refusals are logged; nothing else is.
  assert.deepEqual(errors.filter((e) => !/Refused to connect|Content Security Policy/.test(e)), []);
});

// The charts' history stays bounded however long a run goes on (www/app/decimate.js, run in the
// browser that runs the page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchErrors } from './browser.mjs';
import { serve } from './server.mjs';

let server;
let browser;
before(async () => { server = await serve(); browser = await launch(); });
after(async () => { await browser?.close(); server?.close(); });

test('a chart keeps at most 2,000 points: recent steps at full resolution, old ones thinned', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(new URL('app/decimate.js', server.url).href);
  const r = await page.evaluate(async () => {
    const { decimate, MAX_POINTS } = await import('/app/decimate.js');
    const columns = [[], []];
    let longest = 0;
    for (let step = 1; step <= 100_000; step++) {
      columns[0].push(step);
      columns[1].push(step * 2);
      decimate(columns);
      longest = Math.max(longest, columns[0].length);
    }
    const steps = columns[0];
    return {
      max: MAX_POINTS,
      longest,
      length: steps.length,
      first: steps[0],
      last: steps.at(-1),
      pairsAgree: steps.every((s, i) => columns[1][i] === 2 * s),
      increasing: steps.every((s, i) => i === 0 || s > steps[i - 1]),
      // The newest 500 points are every step; the oldest gaps are the widest.
      recentGaps: new Set(steps.slice(-500).map((s, i, a) => (i ? s - a[i - 1] : 1))).size,
      firstGap: steps[1] - steps[0],
      lastGap: steps.at(-1) - steps.at(-2),
    };
  });
  await page.close();
  assert.equal(r.max, 2000);
  assert.ok(r.longest <= 2000, `at most 2,000 points at any time (${r.longest})`);
  assert.ok(r.length >= 1000, `and not far fewer (${r.length})`);
  assert.equal(r.first, 1, 'the first step stays');
  assert.equal(r.last, 100_000, 'the newest step is there');
  assert.ok(r.pairsAgree, 'every series is thinned with its steps');
  assert.ok(r.increasing);
  assert.equal(r.recentGaps, 1, 'recent steps at full resolution');
  assert.equal(r.lastGap, 1);
  assert.ok(r.firstGap >= 32, `old steps thinned (gap ${r.firstGap})`);
  // (The browser asks for a favicon this bare page has not.)
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
});

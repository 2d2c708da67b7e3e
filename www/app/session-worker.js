// The page's GPU side, off the page's thread: the wasm Session (device, dataset, the GAN being
// trained) drawing DCGAN's sample grid into the page's canvas through an OffscreenCanvas (and
// reading back CycleGAN's and pix2pix's translations for the page to draw), and the zips it
// trains on decoded here too, so the page never waits on wasm.
//
// The page sends { id, method, args }; each reply is { id, result } or { id, error }, with the
// GPU errors no scope caught since the last reply and the canvas's size; a zip's decoding also
// sends { id, progress }. Calls run one at a time, in order: the wasm object must not be used
// while an earlier call awaits the GPU.
import init, { Session, surveyZip, sharePage, shareSnippetPaths } from '../pkg/webgan.js';
import { saveAutosave, saveDataset, loadDataset } from './store.js';
import { cycleSizeFor, pix2pixSizeFor } from './config.js';

let session = null;
let canvas = null;
let queue = Promise.resolve();

// The buffers of the typed arrays in `value` (checkpoint bytes, a PNG, pixels), which move to
// the page rather than being copied.
const buffersOf = (value) => Object.values(value ?? {}).filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer);

// What the page's dataset panel shows of a dataset now in the session.
function shown(summary) {
  return { summary, thumbnails: session.thumbnails(16) };
}

// The families whose runs translate pictures, and show their fixed examples translated.
const TRANSLATING = ['cyclegan', 'pix2pix'];

// What the page shows of the run as it is now: DCGAN's grid is drawn straight into the
// canvas; CycleGAN's and pix2pix's translations come back as `preview` ({ width, height,
// rgba }).
async function shownRun() {
  if (!TRANSLATING.includes(session.family)) {
    session.render();
    return {};
  }
  const t0 = performance.now();
  const preview = await session.preview();
  return { preview, previewMs: performance.now() - t0 };
}

async function built(info) {
  return { info, config: JSON.parse(session.config), family: session.family, ...(await shownRun()) };
}

const methods = {
  async open(offscreen) {
    await init();
    canvas = offscreen;
    session = await Session.open(canvas);
    return { adapter: session.adapter };
  },
  setDataset: (wgds) => shown(session.setDataset(wgds)),
  // Reads a zip into the session as `choice` asks ({ family, preset } for DCGAN, { family,
  // size } for CycleGAN and pix2pix), or as a first look suggests (CycleGAN for trainA/ and
  // trainB/, at 64 pixels or the images' size when smaller; pix2pix for pairs, at 64 pixels or
  // 32 when the pictures are smaller; else DCGAN at the preset that fits): no more images than
  // training can use, or `maxImages`, with progress for the page's bar.
  async decodeZip(file, choice, maxImages, progress) {
    const input = new Uint8Array(await file.arrayBuffer());
    const survey = surveyZip(input);
    const family = choice?.family ?? survey.family;
    const onProgress = (done, total) => progress({ done, total });
    if (family === 'cyclegan') {
      const size = choice?.size ?? cycleSizeFor(survey.largestSide);
      progress({ survey, decoding: `${size}×${size} CycleGAN` });
      const report = session.loadUnpairedZip(input, size, maxImages ?? undefined, onProgress);
      return { ...shown(report.dataset), report, family, size, found: survey.images };
    }
    if (family === 'pix2pix') {
      const size = choice?.size ?? pix2pixSizeFor(survey.largestSide);
      progress({ survey, decoding: `${size}×${size} pix2pix` });
      const report = session.loadPairedZip(input, size, maxImages ?? undefined, onProgress);
      return { ...shown(report.dataset), report, family, size, found: report.found };
    }
    const preset = choice?.preset ?? survey.preset;
    progress({ survey, decoding: preset });
    const report = session.loadZip(input, preset, maxImages ?? undefined, onProgress);
    return { ...shown(report.dataset), report, family, preset, found: survey.images };
  },
  start: async (config) => built(await session.start(config)),
  startCycleGan: async (options) => built(await session.startCycleGan(options)),
  startPix2Pix: async (options) => built(await session.startPix2Pix(options)),
  resume: async (checkpoint) => built(await session.resume(checkpoint)),
  // `steps` steps in one submission, then their stats (which wait for the GPU), and the run
  // shown again when `render` and the losses are finite.
  async burst(steps, render) {
    session.train(steps);
    const stats = await session.stats();
    return render && stats.finite ? { ...stats, ...(await shownRun()) } : stats;
  },
  render: () => shownRun(),
  showClass(k) { session.showClass(k); session.render(); },
  // InfoGAN's codes: `categorical` a value (−1: a row per value), `continuous` a Float32Array
  // (NaN: drawn); only the grid's latents are written before it is drawn again.
  setCodes(categorical, continuous) { session.setCodes(categorical, continuous); session.render(); },
  newNoise(seed) { session.newNoise(seed); session.render(); },
  // ψ > 0 turns the truncation trick on for the grid and the walks; 0 turns it off.
  setTruncation(psi) { session.setTruncation(psi > 0 ? psi : undefined); session.render(); },
  step: () => session.step,
  lost: () => session.lost,
  reopen: () => session.reopen(),
  save: async () => ({ bytes: await session.save(), step: session.step }),
  exportOnnx: async (direction) => ({ bytes: await session.exportOnnx(direction), step: session.step }),
  // A checkpoint, stored as the autosave with the page's `record` (configuration, dataset,
  // chart history), and returned as `save` returns it.
  async autosave(record) {
    const checkpoint = { bytes: await session.save(), step: session.step };
    await saveAutosave({ ...record, checkpoint: checkpoint.bytes, step: checkpoint.step, savedAt: Date.now() });
    return checkpoint;
  },
  // The run's dataset into the autosave ({ id, name, preset }), written from here: the pixels
  // never cross to the page, whose thread would have to copy them into storage.
  // A CycleGAN run's two domains go as `domains` ({ a, b, heldOutA, heldOutB }), a pix2pix
  // run's pairs as `pairs` (the same fields, row i of a paired with row i of b).
  saveRunDataset: (record) => saveDataset({
    cyclegan: () => ({ ...record, domains: session.runDomains() }),
    pix2pix: () => ({ ...record, pairs: session.runPairs() }),
  }[session.family]?.() ?? { ...record, wgds: session.runDataset() }),
  // The autosave's dataset `id` back into the session.
  async restoreDataset(id) {
    const stored = await loadDataset();
    if (!(stored?.wgds || stored?.domains || stored?.pairs) || stored.id !== id) throw new Error("the autosaved dataset is no longer in this browser's storage");
    if (stored.domains) {
      const { a, b, heldOutA, heldOutB } = stored.domains;
      return shown(session.setDomains(a, b, heldOutA, heldOutB));
    }
    if (stored.pairs) {
      const { a, b, heldOutA, heldOutB } = stored.pairs;
      return shown(session.setPairs(a, b, heldOutA, heldOutB));
    }
    return shown(session.setDataset(stored.wgds));
  },
  // The generator page of the run as it is now (src/share/page.rs): its template, script and
  // style, this very wasm package and the run's generator weights (16-bit when `half`), as one
  // HTML file: { html, step }.
  async sharePage(half) {
    const read = async (path) => {
      const r = await fetch(new URL(path, import.meta.url));
      if (!r.ok) throw new Error(`could not read the page's ${path.split('/').pop()} (${r.status})`);
      return r;
    };
    const text = async (path) => (await read(path)).text();
    const [html, script, css, glue, wasm] = await Promise.all([
      text('../share/generator.html'), text('../share/generator.js'), text('../share/generator.css'),
      text('../pkg/webgan.js'), read('../pkg/webgan_bg.wasm').then((r) => r.arrayBuffer()),
    ]);
    const paths = shareSnippetPaths(glue);
    const snippets = await Promise.all(paths.map((p) => text(`../pkg/${p}`)));
    const checkpoint = await session.save();
    return { html: sharePage(html, script, css, glue, paths, snippets, new Uint8Array(wasm), checkpoint, half), step: session.step };
  },
  // One picture (its name and bytes) through CycleGAN's G_A (`aToB`) or G_B, or pix2pix's G:
  // { width, height, rgba, png }.
  translate: (name, bytes, aToB) => session.translate(name, bytes, aToB),
  measureQuality: () => session.measureQuality(),
  // Samples against their nearest training images: { copyRate, typical, diversity, samples,
  // training, warning, pairs: { width, height, rgba } }.
  checkCopies: () => session.checkCopies(),
  gridPng: async () => ({ png: await session.gridPng(), step: session.step }),
  interpolation: (seed, steps, k) => session.interpolation(seed, steps, k),
  // Where G's last attention block looks from the grid's point (fx, fy), as fractions of
  // its size: { block, side, query, pixel, index, weights, image }, or null on a gap.
  attentionAt: (fx, fy) => session.attentionAt(fx, fy),
  loseDeviceForTesting: () => session.loseDeviceForTesting(),
  poisonForTesting: () => session.poisonForTesting(),
  causeGpuErrorForTesting: () => session.causeGpuErrorForTesting(),
  breakNextBuildForTesting: () => session.breakNextBuildForTesting(),
};

function reply(id, fields) {
  let errors = [];
  try { errors = session?.takeErrors() ?? []; } catch { /* no session yet */ }
  const size = canvas ? [canvas.width, canvas.height] : null;
  const value = fields.result;
  const transfer = [value, value?.thumbnails, value?.preview].flatMap(buffersOf);
  self.postMessage({ id, ...fields, errors, size }, transfer);
}

self.onmessage = ({ data: { id, method, args } }) => {
  const progress = (p) => self.postMessage({ id, progress: p });
  queue = queue.then(async () => {
    try {
      if (!methods[method]) throw new Error(`the session has no call ${method}`);
      if (!session && method !== 'open') throw new Error('the GPU is not open yet');
      reply(id, { result: await methods[method](...args, progress) });
    } catch (e) {
      reply(id, { error: String(e?.message ?? e) });
    }
  });
};

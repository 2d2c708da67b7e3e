// The page's GPU side, off the page's thread: the wasm Session (device, dataset, the GAN being
// trained) drawing its sample grid into the page's canvas through an OffscreenCanvas, and the
// zips it trains on decoded here too, so the page never waits on wasm.
//
// The page sends { id, method, args }; each reply is { id, result } or { id, error }, with the
// GPU errors no scope caught since the last reply and the canvas's size; a zip's decoding also
// sends { id, progress }. Calls run one at a time, in order: the wasm object must not be used
// while an earlier call awaits the GPU.
import init, { Session, surveyZip } from '../pkg/webgan.js';
import { saveAutosave, saveDataset, loadDataset } from './store.js';

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

async function built(info) {
  session.render();
  return { info, config: JSON.parse(session.config) };
}

const methods = {
  async open(offscreen) {
    await init();
    canvas = offscreen;
    session = await Session.open(canvas);
    return { adapter: session.adapter };
  },
  setDataset: (wgds) => shown(session.setDataset(wgds)),
  // Reads a zip into the session at `preset` (or the one a first look picks): no more images
  // than training can use, or `maxImages`, with progress for the page's bar.
  async decodeZip(file, preset, maxImages, progress) {
    const input = new Uint8Array(await file.arrayBuffer());
    const survey = surveyZip(input);
    const chosen = preset ?? survey.preset;
    progress({ survey, preset: chosen });
    const report = session.loadZip(input, chosen, maxImages ?? undefined, (done, total) => progress({ done, total }));
    return { ...shown(report.dataset), report, preset: chosen, found: survey.images };
  },
  start: async (config) => built(await session.start(config)),
  resume: async (checkpoint) => built(await session.resume(checkpoint)),
  // `steps` steps in one submission, then their stats (which wait for the GPU), and the grid
  // drawn again when `render` and the losses are finite.
  async burst(steps, render) {
    session.train(steps);
    const stats = await session.stats();
    if (render && stats.finite) session.render();
    return stats;
  },
  render: () => session.render(),
  showClass(k) { session.showClass(k); session.render(); },
  newNoise(seed) { session.newNoise(seed); session.render(); },
  step: () => session.step,
  lost: () => session.lost,
  reopen: () => session.reopen(),
  save: async () => ({ bytes: await session.save(), step: session.step }),
  // A checkpoint, stored as the autosave with the page's `record` (configuration, dataset,
  // chart history), and returned as `save` returns it.
  async autosave(record) {
    const checkpoint = { bytes: await session.save(), step: session.step };
    await saveAutosave({ ...record, checkpoint: checkpoint.bytes, step: checkpoint.step, savedAt: Date.now() });
    return checkpoint;
  },
  // The run's dataset into the autosave ({ id, name, preset }), written from here: the pixels
  // never cross to the page, whose thread would have to copy them into storage.
  saveRunDataset: (record) => saveDataset({ ...record, wgds: session.runDataset() }),
  // The autosave's dataset `id` back into the session.
  async restoreDataset(id) {
    const stored = await loadDataset();
    if (!stored?.wgds || stored.id !== id) throw new Error("the autosaved dataset is no longer in this browser's storage");
    return shown(session.setDataset(stored.wgds));
  },
  measureQuality: () => session.measureQuality(),
  gridPng: async () => ({ png: await session.gridPng(), step: session.step }),
  interpolation: (seed, steps, k) => session.interpolation(seed, steps, k),
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
  self.postMessage({ id, ...fields, errors, size }, [...buffersOf(value), ...buffersOf(value?.thumbnails)]);
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

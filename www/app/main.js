// The training page: a dataset (the built-in digits, or a dropped zip), a GAN trained on this
// browser's GPU in bursts, its samples drawn from GPU memory into a WebGPU canvas, curves,
// checkpoints, and an autosave that survives reloads and lost devices. The wasm session (GPU
// device, dataset, training, decoding, sampling) runs in a worker (session-worker.js) that draws
// into this page's canvas: this thread only shows and asks, so the page never freezes.
import { openSession } from './session-client.js';
import { Charts } from './charts.js';
import { readConfig, showConfig, fitToDataset } from './config.js';
import { loadAutosave, clearAutosave } from './store.js';

const $ = (id) => document.getElementById(id);
// Below this many images the page suggests DiffAugment.
const SMALL_DATASET = 2000;
const params = new URLSearchParams(location.search);
// Autosave period; tests shorten it with ?autosave=SECONDS.
const AUTOSAVE_MS = 1000 * Number(params.get('autosave') ?? 180);
// At most this many images of a zip are decoded (besides what one GPU buffer holds); for tests.
const MAX_IMAGES = Number(params.get('maxImages')) >= 1 ? Math.floor(Number(params.get('maxImages'))) : null;
// GPU time per submission: long enough to keep the GPU busy, short enough for smooth frames and
// far below any GPU watchdog.
const BURST_MS = 120;
const RENDER_MS = 250;
const BUILTIN = 'the built-in digits';

// Runs one of the session worker's methods (session-client.js); null until the GPU is open.
let call = null;

const state = {
  adapter: null,
  // The session's dataset (its pixels live in the session alone):
  // { id, name, builtin, file, preset, summary, found, limit }
  dataset: null,
  // The dataset the run trains on (the session's, unless another was loaded since), and the
  // id of the one the autosave holds.
  runDataset: null,
  storedDatasetId: null,
  // GPU errors already shown.
  gpuErrors: new Set(),
  started: false,
  running: false,
  loop: null,
  // Session calls run one after another, as the worker runs them: a checkpoint must never
  // straddle two bursts.
  queue: Promise.resolve(),
  config: null,
  lastCheckpoint: null,
  lastAutosave: 0,
  elapsedMs: 0,
  msPerStep: null,
  imagesPerSecond: null,
  lastRender: 0,
  lastQualityStep: 0,
  divergedAt: null,
};
let charts;

// Runs `fn` after the session calls before it.
function serial(fn) {
  const run = state.queue.then(fn);
  state.queue = run.catch(() => {});
  return run;
}

const message = (e) => String(e?.message ?? e);

// A message as a sentence: a capital first, a full stop last.
function sentence(text) {
  const t = String(text).trim();
  return t && t[0].toUpperCase() + t.slice(1) + (/[.!?…]$/.test(t) ? '' : '.');
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

// GPU errors no error scope caught (a broken dispatch, say), as the worker reports them after
// a call: each is shown once.
function showGpuErrors(errors) {
  const fresh = errors.filter((e) => !state.gpuErrors.has(e));
  if (!fresh.length) return;
  fresh.forEach((e) => state.gpuErrors.add(e));
  showError(fresh.map((e) => `The GPU reported an error: ${e}.`).join(' '));
}

let ids = 0;
const newId = () => `${Date.now().toString(36)}-${++ids}`;
function setStatus(text) {
  $('stat-state').textContent = text;
  document.body.dataset.state = text;
}

function updateButtons() {
  const ready = !!call && !!state.dataset;
  const busy = state.running;
  $('start').disabled = !ready || busy;
  $('start').textContent = state.started ? 'Continue' : 'Start';
  $('pause').disabled = !busy;
  $('step').disabled = !ready || busy;
  $('reset').disabled = !ready || busy;
  for (const id of ['save', 'new-noise', 'download-png', 'walk-button', 'measure']) $(id).disabled = !state.started;
  $('config-note').textContent = state.started
    ? 'Changes here take effect on Reset, which starts a new run.'
    : '';
}

// ---------------------------------------------------------------- dataset

function drawImage(canvas, img, zoom) {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d').putImageData(new ImageData(img.rgba, img.width, img.height), 0, 0);
  canvas.style.width = `${img.width * zoom}px`;
}

// The sample grid's size, which the worker sets on its OffscreenCanvas: this page's canvas
// element cannot be resized once its drawing moved there, so its CSS box follows (and the
// browser tests read it from data-width and data-height).
function showGridSize([width, height]) {
  const c = $('samples');
  if (c.dataset.width === String(width) && c.dataset.height === String(height)) return;
  Object.assign(c.dataset, { width, height });
  c.style.width = `${width}px`;
  c.style.aspectRatio = `${width} / ${height}`;
}

function plural(n, word) {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}

function showDataset(d, report, thumbnails) {
  const s = d.summary;
  const classes = s.classes.length
    ? ` in ${plural(s.classes.length, 'class')}: ${s.classes.map(([n, c]) => `${n} (${c.toLocaleString('en')})`).join(', ')}`
    : ', no classes';
  const capped = d.found > d.limit
    ? ` Used ${s.images.toLocaleString('en')} of the zip's ${plural(d.found, 'image')}, as many as training holds at this size.`
    : '';
  $('dataset-summary').textContent = `${d.name}: ${plural(s.images, 'image')}${classes}; ${s.size}×${s.size} ${s.channels === 1 ? 'gray' : 'colour'}.${capped}`;
  $('dataset-summary').className = '';
  const skipped = report?.skipped ?? [];
  $('skipped').hidden = !skipped.length && !report?.ignored;
  if (report) {
    $('skipped').querySelector('summary').textContent =
      `Skipped ${plural(skipped.length, 'file')}${report.ignored ? `, ignored ${report.ignored} (folders, hidden files, __MACOSX)` : ''}`;
    const ul = $('skipped').querySelector('ul');
    ul.replaceChildren(...skipped.slice(0, 200).map(([path, reason]) => {
      const li = document.createElement('li');
      li.textContent = `${path}: ${reason}`;
      return li;
    }));
  }
  $('use-digits').hidden = d.builtin;
  // DiffAugment is made for datasets of hundreds to a few thousand images; suggested, not set.
  const small = !d.builtin && s.images < SMALL_DATASET;
  $('dataset-advice').hidden = !small;
  $('dataset-advice').textContent = small
    ? `${plural(s.images, 'image')} is a small dataset: D can learn it by heart and training collapses. Augment (DiffAugment: color, translation, cutout) shows D every image changed, which is what the method is for.`
    : '';
  drawImage($('thumbs'), thumbnails, d.summary.size <= 32 ? 2 : 1);
}

// Makes `d`, whose pixels are `wgds`, the session's dataset (an error leaves the previous one in
// place). The pixels move to the worker, which keeps the only copy.
async function useDataset(d, wgds) {
  datasetReady(d, await serial(() => call('setDataset', [wgds], { transfer: [wgds.buffer] })));
}

// Shows `d`, now the session's dataset, with the session's summary and thumbnails of it.
function datasetReady(d, { summary, thumbnails }, report) {
  d.id ??= newId();
  d.summary = summary;
  state.dataset = d;
  showDataset(d, report, thumbnails);
  fitToDataset(d.preset, d.summary.classes.length);
  if (state.started) {
    $('config-note').textContent = 'The run goes on with its own data: press Reset to train on this dataset.';
  }
  updateButtons();
}

async function loadBuiltin() {
  const res = await fetch('data/digits.wgds');
  if (!res.ok) throw new Error(`the built-in digits are missing (data/digits.wgds: HTTP ${res.status}); run ./build.sh build`);
  const wgds = new Uint8Array(await res.arrayBuffer());
  return [{ name: BUILTIN, builtin: true, file: null, preset: 'dcgan28' }, wgds];
}

// Decodes a zip in the session worker, at `preset` (or the one a first look picks), showing
// progress; the dataset becomes the session's. Resolves to { summary, thumbnails, report,
// preset, found }.
async function decodeZip(file, preset) {
  const bar = $('dataset-progress');
  bar.hidden = false;
  bar.querySelector('progress').removeAttribute('value');
  bar.querySelector('span').textContent = `reading ${file.name}…`;
  const onProgress = (p) => {
    if (p.survey) {
      bar.querySelector('span').textContent = `${plural(p.survey.images, 'image')} found; decoding at ${p.preset}…`;
    } else {
      bar.querySelector('progress').value = p.total ? p.done / p.total : 1;
      bar.querySelector('span').textContent = `${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} images`;
    }
  };
  try {
    // The file goes as a handle: the worker reads it.
    return await serial(() => call('decodeZip', [file, preset, MAX_IMAGES], { onProgress }));
  } finally {
    bar.hidden = true;
  }
}

async function loadZip(file) {
  const previous = state.dataset?.name;
  try {
    if (!/\.zip$/i.test(file.name) && file.type !== 'application/zip') {
      throw new Error(`${file.name} is not a .zip file`);
    }
    const r = await decodeZip(file, null);
    datasetReady({ name: file.name, builtin: false, file, preset: r.preset, found: r.found, limit: r.report.limit }, r, r.report);
  } catch (e) {
    const kept = previous ? ` The previous dataset (${previous}) is still loaded.` : '';
    $('dataset-summary').textContent = `Could not use ${file.name}: ${message(e)}.${kept}`.replace('..', '.');
    $('dataset-summary').className = 'error-text';
  }
}

// ---------------------------------------------------------------- training

function fillClasses(classes) {
  const select = $('class');
  const names = state.dataset?.summary.classes.map(([n]) => n) ?? [];
  const options = [new Option(classes ? 'a row per class' : 'all samples', '-1')];
  for (let k = 0; k < classes; k++) options.push(new Option(`class ${names[k] ?? k}`, String(k)));
  select.replaceChildren(...options);
  select.disabled = classes === 0;
}

function resetCounters(step = 0) {
  state.elapsedMs = 0;
  state.msPerStep = null;
  state.imagesPerSecond = null;
  state.lastQualityStep = step;
  state.divergedAt = null;
  $('diverged').hidden = true;
  charts.clear();
  showStats({ step });
}

function showStats(s) {
  $('stat-step').textContent = s.step.toLocaleString('en');
  const images = state.dataset?.summary.images || 1;
  $('stat-epoch').textContent = ((s.step * (state.config?.batch ?? 0)) / images).toFixed(2);
  $('stat-speed').textContent = state.imagesPerSecond == null ? '–' : state.imagesPerSecond.toFixed(state.imagesPerSecond < 10 ? 1 : 0);
  const t = Math.round(state.elapsedMs / 1000);
  $('stat-elapsed').textContent = `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

// Builds a run (new, resumed or recovered) with the worker's `start` or `resume` and shows it.
async function build(method, arg) {
  const { info, config } = await serial(() => call(method, [arg]));
  state.config = config;
  state.lastRender = performance.now();
  state.started = true;
  state.runDataset = state.dataset;
  fillClasses(info.classes);
  updateButtons();
  return info;
}

async function startRun() {
  const config = readConfig(state.dataset.summary.classes.length);
  if (state.dataset.file && state.dataset.preset !== config.preset) {
    // A zip is decoded again at the new preset's size rather than resampled from the old one
    // (a dataset restored from the autosave has no zip left, and is resampled).
    const r = await decodeZip(state.dataset.file, config.preset);
    datasetReady({ ...state.dataset, id: null, preset: r.preset, found: r.found, limit: r.report.limit }, r, r.report);
  }
  setStatus('building the model…');
  try {
    await build('start', JSON.stringify(config));
  } catch (e) {
    // The run there was, if any, is still there and goes on where it was.
    setStatus(state.started ? 'paused' : 'idle');
    throw e;
  }
  resetCounters(0);
  state.gpuErrors.clear();
  await checkpoint(); // step 0: something to roll back or recover to from the start
  setStatus('ready');
}

function burstSize() {
  if (state.msPerStep == null) return 1;
  return Math.max(1, Math.min(64, Math.floor(BURST_MS / state.msPerStep)));
}

// One submission of `steps` steps, then the stats (which wait for the GPU), charts and grid.
async function burst(steps) {
  const s = await serial(async () => {
    const t0 = performance.now();
    const render = performance.now() - state.lastRender > RENDER_MS;
    const stats = await call('burst', [steps, render]);
    const dt = performance.now() - t0;
    const per = dt / steps;
    state.msPerStep = state.msPerStep == null ? per : 0.8 * state.msPerStep + 0.2 * per;
    const ips = (steps * state.config.batch * 1000) / dt;
    state.imagesPerSecond = state.imagesPerSecond == null ? ips : 0.8 * state.imagesPerSecond + 0.2 * ips;
    state.elapsedMs += dt;
    if (render && stats.finite) state.lastRender = performance.now();
    return stats;
  });
  charts.addStats(s);
  charts.draw();
  showStats(s);
  if (!s.finite) {
    diverged(s.step);
    return;
  }
  const every = Number($('quality-every').value);
  const due = every > 0 && Math.floor(s.step / every) > Math.floor(state.lastQualityStep / every);
  if (due && !tooFewForQuality()) await measureQuality();
  if (performance.now() - state.lastAutosave > AUTOSAVE_MS) {
    try {
      await autosave();
    } catch (e) {
      // The weights went NaN in the last update, behind finite losses: no checkpoint of that.
      if (/diverged/.test(message(e))) diverged(s.step);
      else throw e;
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Whether the device is lost: the browser says so a little after the failed call that shows it.
async function lostReason() {
  for (let i = 0; i < 20; i++) {
    const lost = await call('lost').catch(() => undefined);
    if (lost) return lost;
    await sleep(50);
  }
  return undefined;
}

// A burst; when the device turns out to be lost, the run is recovered instead.
async function burstOrRecover(steps) {
  try {
    await burst(steps);
  } catch (e) {
    const lost = await lostReason();
    if (lost) await recover(lost);
    else throw e;
  }
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

function run() {
  if (state.loop) return state.loop;
  state.running = true;
  setStatus('training');
  updateButtons();
  state.loop = (async () => {
    try {
      while (state.running) {
        await burstOrRecover(burstSize());
        await nextTask(); // let the page draw and handle input between bursts
      }
    } catch (e) {
      state.running = false;
      showError(sentence(`Training stopped: ${message(e)}`));
    } finally {
      state.loop = null;
      state.running = false;
      if (!state.divergedAt) setStatus('paused');
      updateButtons();
    }
  })();
  return state.loop;
}

async function pause() {
  state.running = false;
  await state.loop;
  if (state.started && !state.divergedAt) await autosave().catch((e) => showError(sentence(`Autosave failed: ${message(e)}`)));
}

function diverged(step) {
  state.running = false;
  state.divergedAt = step;
  setStatus('diverged');
  const back = state.lastCheckpoint;
  $('diverged-text').textContent =
    `Training diverged at step ${step}: a loss became NaN or infinite, so it is paused. ` +
    (back ? `Roll back to step ${back.step}, then lower the learning rates or add label smoothing.` : 'Reset to start again.');
  $('rollback').hidden = !back;
  $('diverged').hidden = false;
}

// ---------------------------------------------------------------- checkpoints

async function checkpoint() {
  state.lastCheckpoint = await serial(() => call('save'));
  return state.lastCheckpoint.bytes;
}

// The checkpoint and the chart history every time; the run's dataset only when it changed. The
// worker writes both into storage, so this thread copies neither.
async function autosave() {
  state.lastAutosave = performance.now();
  const d = state.runDataset;
  if (!d.builtin && state.storedDatasetId !== d.id) {
    await serial(() => call('saveRunDataset', [{ id: d.id, name: d.name, preset: state.config.preset }]));
    state.storedDatasetId = d.id;
    document.body.dataset.datasetWrites = String((Number(document.body.dataset.datasetWrites) || 0) + 1);
  }
  state.lastCheckpoint = await serial(() => call('autosave', [{
    config: state.config,
    dataset: { id: d.id, name: d.name, builtin: d.builtin, preset: state.config.preset, found: d.found, limit: d.limit },
    history: { charts: charts.history(), elapsedMs: state.elapsedMs },
  }]));
  document.body.dataset.autosavedStep = state.lastCheckpoint.step;
  document.body.dataset.autosaves = String((Number(document.body.dataset.autosaves) || 0) + 1);
}

// Resumes from a checkpoint; `history` (the autosave's) brings the charts back with it.
async function resumeFrom(bytes, label, history) {
  const info = await build('resume', bytes);
  resetCounters(info.step);
  if (history) {
    charts.restore(history.charts);
    state.elapsedMs = history.elapsedMs ?? 0;
    showStats({ step: info.step });
  }
  showConfig(state.config);
  state.lastCheckpoint = { bytes, step: info.step };
  setStatus(`resumed at step ${info.step} from ${label}`);
}

function download(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The device is gone (driver reset, GPU process crash, …): a new one, the same dataset, and
// the last checkpoint; the run goes on if it was running.
async function recover(reason) {
  const step = state.lastCheckpoint?.step;
  showError(`The GPU device was lost (${reason}). Recovering from the checkpoint of step ${step ?? 0}…`);
  await serial(() => call('reopen'));
  if (state.lastCheckpoint) {
    const info = await build('resume', state.lastCheckpoint.bytes);
    showStats({ step: info.step });
  } else {
    await startRun();
  }
  showError(`The GPU device was lost (${reason}); training went back to the checkpoint of step ${step ?? 0} and goes on.`);
  document.body.dataset.recovered = String((Number(document.body.dataset.recovered) || 0) + 1);
}

// The fewest images the Fréchet distance is fitted to (quality::evaluate::MIN_REAL_IMAGES).
const MIN_QUALITY_IMAGES = 200;

// A small dataset trains like any other; only its quality is not measured. Says so once.
function tooFewForQuality() {
  const images = state.dataset?.summary.images ?? 0;
  if (images >= MIN_QUALITY_IMAGES) return false;
  $('quality').textContent = `Not measured: the Fréchet distance needs at least ${MIN_QUALITY_IMAGES} images, and this dataset has ${images}.`;
  return true;
}

async function measureQuality() {
  if (tooFewForQuality()) return;
  const step = await serial(() => call('step'));
  state.lastQualityStep = step;
  const before = $('stat-state').textContent;
  setStatus('measuring quality (the first time trains a small classifier)…');
  try {
    const d = await serial(() => call('measureQuality'));
    charts.add('chart-quality', step, [d]);
    charts.draw(0);
    $('quality').textContent = `Fréchet distance at step ${step}: ${d.toFixed(2)} (lower is better).`;
  } catch (e) {
    $('quality').textContent = sentence(`The quality measure failed: ${message(e)}`);
  }
  setStatus(before);
}

// ---------------------------------------------------------------- wiring

function guard(fn) {
  return async (...args) => {
    try {
      showError('');
      await fn(...args);
    } catch (e) {
      showError(sentence(message(e)));
    } finally {
      updateButtons();
    }
  };
}

function wire() {
  $('zip-input').addEventListener('change', guard(async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) await loadZip(file);
  }));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', guard(async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) await loadZip(file);
  }));
  $('use-digits').addEventListener('click', guard(async () => useDataset(...(await loadBuiltin()))));

  $('start').addEventListener('click', guard(async () => {
    if (!state.started) await startRun();
    run();
  }));
  $('pause').addEventListener('click', guard(pause));
  $('step').addEventListener('click', guard(async () => {
    if (!state.started) await startRun();
    await burstOrRecover(1);
    await serial(() => call('render'));
    setStatus(state.divergedAt ? 'diverged' : 'paused');
  }));
  $('reset').addEventListener('click', guard(async () => {
    await pause();
    await startRun();
  }));

  $('save').addEventListener('click', guard(async () => {
    const bytes = await checkpoint();
    download(bytes, `webgan-${state.config.preset}-step${state.lastCheckpoint.step}.safetensors`, 'application/octet-stream');
  }));
  $('load-checkpoint').addEventListener('change', guard(async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    await pause();
    try {
      await resumeFrom(new Uint8Array(await file.arrayBuffer()), file.name);
    } catch (err) {
      throw new Error(`Could not load ${file.name}: ${message(err)}`);
    }
  }));
  $('rollback').addEventListener('click', guard(async () => {
    await resumeFrom(state.lastCheckpoint.bytes, `the checkpoint of step ${state.lastCheckpoint.step}`);
  }));

  $('class').addEventListener('change', guard(async (e) => {
    await serial(() => call('showClass', [Number(e.target.value)]));
  }));
  $('new-noise').addEventListener('click', guard(async () => {
    await serial(() => call('newNoise', [(Math.random() * 2 ** 32) >>> 0]));
  }));
  $('download-png').addEventListener('click', guard(async () => {
    const { png, step } = await serial(() => call('gridPng'));
    download(png, `webgan-samples-step${step}.png`, 'image/png');
  }));
  $('walk-button').addEventListener('click', guard(async () => {
    const img = await serial(() => call('interpolation', [(Math.random() * 2 ** 32) >>> 0, 10, Number($('class').value)]));
    drawImage($('walk'), img, img.width < 400 ? 2 : 1);
  }));
  $('measure').addEventListener('click', guard(measureQuality));

  $('offer-discard').addEventListener('click', guard(async () => {
    $('offer').hidden = true;
    await clearAutosave();
  }));
  // Autosave when the page goes away while training.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && state.started) autosave().catch(() => {});
  });
}

async function offerAutosave() {
  const saved = await loadAutosave();
  if (!saved?.checkpoint) return;
  const ago = Math.max(1, Math.round((Date.now() - saved.savedAt) / 60000));
  $('offer-text').textContent =
    `An autosaved run is here: ${saved.config?.preset ?? 'a GAN'} at step ${saved.step} on ${saved.dataset?.name ?? 'a dataset'}, saved ${ago} min ago.`;
  $('offer').hidden = false;
  $('offer-resume').onclick = guard(async () => {
    $('offer').hidden = true;
    const d = saved.dataset ?? { name: BUILTIN };
    if (d.builtin ?? d.name === BUILTIN) {
      if (!state.dataset?.builtin) await useDataset(...(await loadBuiltin()));
    } else {
      const shown = { id: d.id ?? newId(), name: d.name, builtin: false, file: null, preset: d.preset, found: d.found, limit: d.limit };
      // Autosaves of earlier versions carried the dataset in the run's record.
      if (d.wgds) await useDataset(shown, d.wgds);
      else datasetReady(shown, await serial(() => call('restoreDataset', [d.id])));
      state.storedDatasetId = d.id;
    }
    await resumeFrom(saved.checkpoint, 'the autosave', saved.history);
  });
}

// The browser says more about its adapter than wgpu passes on.
async function adapterName() {
  const info = (await navigator.gpu.requestAdapter().catch(() => null))?.info;
  const parts = [info?.vendor, info?.architecture, info?.description].filter(Boolean);
  const named = parts.length ? parts.join(' ') : state.adapter;
  return info?.isFallbackAdapter || /swiftshader/i.test(named) ? `${named} (a software GPU: slow)` : named;
}

async function main() {
  charts = new Charts();
  wire();
  updateButtons();
  if (!navigator.gpu) {
    $('adapter').textContent = '';
    throw new Error('This browser has no WebGPU, which webgan needs. Use Chrome or Edge 113+ (on Linux, ' +
      'start Chrome with --enable-unsafe-webgpu --enable-features=Vulkan), Safari 26+, or Firefox 141+ on Windows.');
  }
  const session = await openSession($('samples'), { onErrors: showGpuErrors, onSize: showGridSize });
  state.adapter = session.adapter;
  call = session.call;
  $('adapter').textContent = `GPU: ${await adapterName()}`;
  await useDataset(...(await loadBuiltin()));
  await offerAutosave();
  setStatus('idle');
  document.body.dataset.ready = '1';
  // For the browser tests: the paths a person rarely meets, on demand.
  window.webgan = {
    state,
    loseDevice: () => serial(() => call('loseDeviceForTesting')),
    poison: () => serial(() => call('poisonForTesting')),
    causeGpuError: () => serial(() => call('causeGpuErrorForTesting')),
    breakNextBuild: () => serial(() => call('breakNextBuildForTesting')),
  };
}

main().catch((e) => {
  showError(sentence(message(e)));
  document.body.dataset.ready = 'error';
}).finally(updateButtons);

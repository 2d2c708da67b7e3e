// The training page: a dataset (the built-in digits, or a dropped zip), a GAN trained on this
// browser's GPU in bursts, curves, checkpoints, and an autosave that survives reloads and lost
// devices. A DCGAN's samples are drawn from GPU memory into a WebGPU canvas; a CycleGAN (a zip
// with trainA/ and trainB/) shows held-out examples translated both ways, a pix2pix (a zip of
// pairs) fixed pairs as input | output | target, and both translate a person's own picture. The
// wasm session (GPU device, dataset, training, decoding, sampling) runs in a worker
// (session-worker.js) that draws into this page's canvas: this thread only shows and asks, so
// the page never freezes.
import { openSession } from './session-client.js';
import { Charts } from './charts.js';
import {
  readConfig, showConfig, fitToDataset, fitRecipe, fitLoss, family as formFamily, readCycleConfig, showCycleConfig,
  fitToDomains, fitLayers, readPix2PixConfig, showPix2PixConfig, fitToPairs, pix2pixSizeOk, isInfogan,
} from './config.js';
import { loadAutosave, clearAutosave } from './store.js';
import { checkpointMeta } from './checkpoint-meta.js';
import { fillCodes, wireCodes } from './codes.js';

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
// CycleGAN's and pix2pix's translations are read back to be shown: at most this share of the
// time goes to them.
const PREVIEW_SHARE = 0.1;
const BUILTIN = 'the built-in digits';
// The families whose runs translate pictures, and their names as a person reads them.
const TRANSLATING = ['cyclegan', 'pix2pix'];
const NAMES = { dcgan: 'DCGAN', cyclegan: 'CycleGAN', pix2pix: 'pix2pix' };
const translating = (family) => TRANSLATING.includes(family);

// Runs one of the session worker's methods (session-client.js); null until the GPU is open.
let call = null;

const state = {
  adapter: null,
  // The session's dataset (its pixels live in the session alone):
  // { id, name, builtin, file, family, preset, size, line, summary, found, limit }; `family`
  // says what it was read for: 'dcgan' (images, at `preset`'s size), 'cyclegan' (two domains,
  // for CycleGAN at `size`) or 'pix2pix' (pairs, for pix2pix at `size`); `line` is the
  // loader's summary.
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
  // The run's family, 'dcgan', 'cyclegan' or 'pix2pix', and its last step shown.
  family: null,
  step: 0,
  // A picture to translate ({ name, bytes }), and its last translation ({ png, name }).
  picture: null,
  translation: null,
  previewMs: 0,
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
  for (const id of ['save', 'download-onnx', 'share', 'download-png']) $(id).disabled = !state.started;
  const dcgan = state.started && state.family === 'dcgan';
  for (const id of ['new-noise', 'walk-button', 'measure', 'check-copies', 'truncation']) $(id).disabled = !dcgan;
  for (const el of $('codes').querySelectorAll('select, input, button')) el.disabled = !dcgan || (el.tagName === 'SELECT' && el.options.length < 2);
  $('translate-button').disabled = !(state.started && translating(state.family) && state.picture);
  $('download-translation').disabled = !state.translation;
  // A dataset loaded since the run began waits for Reset: the run goes on with its own.
  const waiting = state.dataset !== state.runDataset;
  $('config-note').textContent = !state.started ? ''
    : waiting ? 'The run goes on with its own data: press Reset to train on this dataset.'
      : 'Changes here take effect on Reset, which starts a new run.';
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
  $('dataset-summary').className = '';
  $('dataset-summary').textContent = { cyclegan: domainsText, pix2pix: pairsText }[d.family]?.(d, report) ?? imagesText(d);
  $('use-digits').hidden = d.builtin;
  showAdvice();
  drawImage($('thumbs'), thumbnails, d.summary.size <= 32 ? 2 : 1);
}

function imagesText(d) {
  const s = d.summary;
  const classes = s.classes.length
    ? ` in ${plural(s.classes.length, 'class')}: ${s.classes.map(([n, c]) => `${n} (${c.toLocaleString('en')})`).join(', ')}`
    : ', no classes';
  const capped = d.found > d.limit
    ? ` Used ${s.images.toLocaleString('en')} of the zip's ${plural(d.found, 'image')}, as many as training holds at this size.`
    : '';
  return `${d.name}: ${plural(s.images, 'image')}${classes}; ${s.size}×${s.size} ${s.channels === 1 ? 'gray' : 'colour'}.${capped}`;
}

// Two domains: the loader's line (trainA: 1,067 images, trainB: 1,334 images, 72×72 after
// resizing; held out …), and how training uses them.
function domainsText(d, report) {
  const s = d.summary;
  const capped = report?.found?.some((n) => n > report.limit)
    ? ` Used at most ${plural(report.limit, 'image')} of each domain, as many as training holds at this size.`
    : '';
  return `${d.name}: ${d.line}. CycleGAN at ${d.size}×${d.size}: each step a random ${d.size}×${d.size} crop of ` +
    `the ${s.size}×${s.size} images.${capped}`;
}

// Pairs: the loader's line (412 pairs (side by side) from train/, 72×72 after resizing; 64
// held out from val/), and how training uses them.
function pairsText(d, report) {
  const s = d.summary;
  const capped = report?.found > report?.limit
    ? ` Used ${plural(s.pairs, 'pair')} of the zip's ${report.found.toLocaleString('en')}, as many as training holds at this size.`
    : '';
  return `${d.name}: ${d.line}. pix2pix at ${d.size}×${d.size}: each step one random ${d.size}×${d.size} crop of ` +
    `both ${s.size}×${s.size} pictures of a pair.${capped}`;
}

// What the dataset panel advises: DiffAugment for a small DCGAN dataset; for CycleGAN and
// pix2pix, the data they need when it is not loaded.
function showAdvice() {
  const d = state.dataset;
  let advice = '';
  if (formFamily() === 'cyclegan' && d?.family !== 'cyclegan' && !d?.file) {
    advice = 'CycleGAN learns to translate between two sets of pictures: drop a zip with trainA/ and trainB/ folders (and testA/, testB/ held out, if any).';
  } else if (formFamily() === 'pix2pix' && d?.family !== 'pix2pix' && !d?.file) {
    advice = 'pix2pix learns to turn each picture A into its B from aligned pairs: drop a zip with A/ and B/ folders of pictures matched by name, or of pictures holding A and B side by side (in train/, and val/ held out, if any).';
  } else if (formFamily() === 'dcgan' && d && !d.builtin && d.family === 'dcgan' && d.summary.images < SMALL_DATASET) {
    // DiffAugment is made for datasets of hundreds to a few thousand images; suggested, not set.
    advice = `${plural(d.summary.images, 'image')} is a small dataset: D can learn it by heart and training collapses. Augment (DiffAugment: color, translation, cutout) shows D every image changed, which is what the method is for.`;
  }
  $('dataset-advice').hidden = !advice;
  $('dataset-advice').textContent = advice;
}

// Shows the form's fields of the family it is set to, and the views (samples or translations,
// charts) of the run's family, or of the form's before there is a run.
function showFamily() {
  const form = formFamily();
  const view = state.started ? state.family : form;
  // An element may belong to several families: data-family="cyclegan pix2pix".
  const outside = (list, family) => !list.split(' ').includes(family);
  for (const el of document.querySelectorAll('[data-family]')) el.hidden = outside(el.dataset.family, form);
  // Within DCGAN's family, fields of some presets only (InfoGAN's codes), or of all but some.
  const preset = $('config').elements.preset.value;
  for (const el of document.querySelectorAll('[data-presets]')) el.hidden ||= outside(el.dataset.presets, preset);
  for (const el of document.querySelectorAll('[data-hide-presets]')) el.hidden ||= !outside(el.dataset.hidePresets, preset);
  for (const el of document.querySelectorAll('[data-view]')) el.hidden = outside(el.dataset.view, view);
  // An InfoGAN run's codes and Q's losses; a uniform prior (InfoGAN's) does not fit truncation.
  const infogan = infoganRun();
  $('codes').hidden ||= !infogan;
  $('chart-info').hidden ||= !infogan;
  $('truncation-label').hidden ||= infogan || (state.started && state.config?.prior === 'uniform');
  $('class-label').hidden ||= infogan;
  $('attention-view').hidden = !attends();
  showSchedule();
  showAdvice();
}

// Whether the run is InfoGAN's, with codes to set and Q's losses to chart.
const infoganRun = () => state.started && state.family === 'dcgan' && isInfogan(state.config?.preset);

// Whether the run's G has self-attention to show (the SAGAN presets).
const attends = () => state.started && state.family === 'dcgan' && /^sagan/.test(state.config?.preset ?? '');

// The attention of G's last attention block at the sample pixel clicked: the sample with the
// pixel marked, beside it the same sample dimmed under the weights in red (brightest where
// they are largest).
async function showAttention(e) {
  if (!attends()) return;
  const box = e.currentTarget.getBoundingClientRect();
  const at = await serial(() => call('attentionAt', [(e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height]));
  if (!at) return;
  const { image, weights, side, pixel: [px, py], query: [qx, qy] } = at;
  const n = image.width;
  const rgba = new Uint8ClampedArray(2 * n * n * 4);
  let most = 0;
  for (const w of weights) most = Math.max(most, w);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const from = (y * n + x) * 4;
      const [r, g, b] = image.rgba.subarray(from, from + 3);
      const marked = Math.abs(x - px) <= 1 && Math.abs(y - py) <= 1 && (x !== px || y !== py);
      const left = (y * 2 * n + x) * 4;
      const right = left + n * 4;
      rgba.set(marked ? [0, 255, 0, 255] : [r, g, b, 255], left);
      const w = weights[Math.floor((y * side) / n) * side + Math.floor((x * side) / n)] / (most || 1);
      const dim = 0.3 * (0.299 * r + 0.587 * g + 0.114 * b);
      rgba.set(marked ? [0, 255, 0, 255] : [dim + 255 * w, dim, dim, 255], right);
    }
  }
  drawImage($('attention'), { width: 2 * n, height: n, rgba }, Math.max(1, Math.floor(256 / n)));
  $('attention').dataset.side = side;
  $('attention-note').textContent = `Sample ${at.index + 1}, pixel (${px}, ${py}): ${at.block} attends from position (${qx}, ${qy}) of its ${side}×${side} map; its largest weight is ${(100 * most).toFixed(1)}% of the total (${(100 / (side * side)).toFixed(2)}% if it looked everywhere alike).`;
}

// CycleGAN's or pix2pix's schedule in words, for the data loaded and the form's epochs and
// batch: an epoch is the larger domain once, or every pair once.
function showSchedule() {
  const d = state.dataset;
  if (!translating(d?.family) || d.family !== formFamily()) {
    $('schedule').textContent = 'The learning rate stays for the first epochs, then falls linearly to zero.';
    return;
  }
  try {
    const c = d.family === 'cyclegan' ? readCycleConfig() : readPix2PixConfig();
    const images = d.family === 'cyclegan' ? Math.max(...d.summary.domains.map(([, n]) => n)) : d.summary.pairs;
    const epoch = Math.max(1, Math.ceil(images / c.batch_size));
    const total = epoch * (c.n_epochs + c.n_epochs_decay);
    $('schedule').textContent = `${c.n_epochs + c.n_epochs_decay} epochs of ${plural(epoch, 'step')}: ` +
      `${plural(total, 'step')}, the learning rate falling linearly to zero over the last ${c.n_epochs_decay}.`;
  } catch (e) {
    $('schedule').textContent = sentence(message(e));
  }
}

// Makes `d`, whose pixels are `wgds`, the session's dataset (an error leaves the previous one in
// place). The pixels move to the worker, which keeps the only copy.
async function useDataset(d, wgds) {
  datasetReady(d, await serial(() => call('setDataset', [wgds], { transfer: [wgds.buffer] })));
}

// Shows `d`, now the session's dataset, with the session's summary and thumbnails of it; the
// form follows it (DCGAN at its preset, or CycleGAN or pix2pix at its size).
function datasetReady(d, { summary, thumbnails }, report) {
  d.id ??= newId();
  d.family ??= 'dcgan';
  d.summary = summary;
  state.dataset = d;
  if (d.family === 'cyclegan') fitToDomains(d.size);
  else if (d.family === 'pix2pix') fitToPairs(d.size);
  else fitToDataset(d.preset, d.summary.classes.length);
  showDataset(d, report, thumbnails);
  showFamily();
  updateButtons();
}

async function loadBuiltin() {
  const res = await fetch('data/digits.wgds');
  if (!res.ok) throw new Error(`the built-in digits are missing (data/digits.wgds: HTTP ${res.status}); run ./build.sh build`);
  const wgds = new Uint8Array(await res.arrayBuffer());
  return [{ name: BUILTIN, builtin: true, file: null, family: 'dcgan', preset: 'dcgan28' }, wgds];
}

// Decodes a zip in the session worker as `choice` asks ({ family, preset } or { family, size }),
// or as a first look suggests (null), showing progress; the dataset becomes the session's.
// Resolves to { summary, thumbnails, report, family, preset, size, found }.
async function decodeZip(file, choice) {
  const bar = $('dataset-progress');
  bar.hidden = false;
  bar.querySelector('progress').removeAttribute('value');
  bar.querySelector('span').textContent = `reading ${file.name}…`;
  const onProgress = (p) => {
    if (p.survey) {
      bar.querySelector('span').textContent = `${plural(p.survey.images, 'image')} found; decoding for ${p.decoding}…`;
    } else {
      bar.querySelector('progress').value = p.total ? p.done / p.total : 1;
      bar.querySelector('span').textContent = `${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} images`;
    }
  };
  try {
    // The file goes as a handle: the worker reads it.
    return await serial(() => call('decodeZip', [file, choice, MAX_IMAGES], { onProgress }));
  } finally {
    bar.hidden = true;
  }
}

// The dataset record of a zip decoded as `r` (decodeZip's answer).
function zipDataset(file, r) {
  return {
    name: file.name, builtin: false, file, family: r.family, preset: r.preset, size: r.size,
    line: r.report.summary, found: r.found, limit: r.report.limit,
  };
}

// The session's zip decoded again as `choice` asks (another family, preset or size).
async function redecode(choice) {
  const file = state.dataset.file;
  const r = await decodeZip(file, choice);
  datasetReady(zipDataset(file, r), r, r.report);
}

async function loadZip(file) {
  const previous = state.dataset?.name;
  try {
    if (!/\.zip$/i.test(file.name) && file.type !== 'application/zip') {
      throw new Error(`${file.name} is not a .zip file`);
    }
    const r = await decodeZip(file, null);
    datasetReady(zipDataset(file, r), r, r.report);
  } catch (e) {
    const kept = previous ? ` The previous dataset (${previous}) is still loaded.` : '';
    $('dataset-summary').textContent = `Could not use ${file.name}: ${message(e)}.${kept}`.replace('..', '.');
    $('dataset-summary').className = 'error-text';
  }
}

// The family picker: the form shows that family's options, and a zip is read again for it
// (two domains for CycleGAN, pairs for pix2pix, images for DCGAN). A zip that cannot serve it
// is refused in the dataset panel, the data there was staying loaded.
async function familyChanged() {
  const family = formFamily();
  showFamily();
  const d = state.dataset;
  if (!d?.file || d.family === family) return;
  // The size chosen carries over where the family takes it; else the zip's own suggests one.
  const size = Number($('config').elements.size.value);
  const choice = {
    dcgan: { family, preset: null },
    cyclegan: { family, size },
    pix2pix: { family, size: pix2pixSizeOk(size) ? size : undefined },
  }[family];
  try {
    await redecode(choice);
  } catch (e) {
    $('dataset-summary').textContent =
      sentence(`Could not use ${d.name} for ${NAMES[family]}: ${message(e)}`) +
      ` The previous dataset (${d.name}) is still loaded.`;
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

// Images per step: DCGAN's batch, or CycleGAN's (of each domain) or pix2pix's (pairs).
const batchOf = (config) => config?.batch ?? config?.batch_size ?? 0;

function showStats(s) {
  state.step = s.step;
  $('stat-step').textContent = s.step.toLocaleString('en');
  if (translating(state.family)) {
    // An epoch is the larger domain once, or every pair once, as the reference counts it.
    $('stat-epoch').textContent = (s.step / Math.max(1, state.config.epoch_steps)).toFixed(2);
    if (s.lr !== undefined) $('stat-lr').textContent = s.lr.toFixed(3);
  } else {
    const images = state.dataset?.summary.images || 1;
    $('stat-epoch').textContent = ((s.step * batchOf(state.config)) / images).toFixed(2);
  }
  $('stat-speed').textContent = state.imagesPerSecond == null ? '–' : state.imagesPerSecond.toFixed(state.imagesPerSecond < 10 ? 1 : 0);
  const t = Math.round(state.elapsedMs / 1000);
  $('stat-elapsed').textContent = `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

// Builds a run (new, resumed or recovered) with the worker's `start`, `startCycleGan`,
// `startPix2Pix` or `resume` and shows it.
async function build(method, arg) {
  const { info, config, family, preview, previewMs } = await serial(() => call(method, [arg]));
  $('examples-note').textContent = family === 'pix2pix'
    ? (info.heldOut
      ? `The first ${plural(info.examples, 'held-out pair')}, which training never sees.`
      : `The first ${plural(info.examples, 'training pair')}: the zip holds no val/ or test/ pairs to hold out.`)
    : '';
  state.config = config;
  state.family = family;
  // A new run draws its grid untruncated.
  $('truncation').value = 0;
  $('truncation-value').textContent = 'off';
  state.lastRender = performance.now();
  state.started = true;
  state.runDataset = state.dataset;
  state.translation = null;
  fillClasses(info.classes);
  fillCodes(family === 'dcgan' ? config : null);
  showFamily();
  showPreview(preview, previewMs);
  updateButtons();
  return info;
}

// CycleGAN's or pix2pix's translations of the fixed examples, as the worker read them back.
function showPreview(preview, ms) {
  if (!preview) return;
  state.previewMs = ms ?? state.previewMs;
  drawImage($('translations'), preview, Math.max(1, Math.min(4, Math.floor(480 / preview.width))));
}

// The form's run, on the dataset as the form's family reads it: a zip is decoded again for
// another family, preset or size rather than resampled (a dataset restored from the autosave
// has no zip left, and is resampled by the session).
async function startRun() {
  const family = formFamily();
  let config;
  if (translating(family)) {
    config = family === 'cyclegan' ? readCycleConfig() : readPix2PixConfig();
    const d = state.dataset;
    if (d.file && (d.family !== family || d.size !== config.size)) await redecode({ family, size: config.size });
  } else {
    const preset = $('config').elements.preset.value;
    if (state.dataset.file && state.dataset.family !== 'dcgan') await redecode({ family: 'dcgan', preset });
    const d = state.dataset;
    config = readConfig(d.family === 'dcgan' ? d.summary.classes.length : 0);
    if (d.file && d.preset !== config.preset) await redecode({ family: 'dcgan', preset: config.preset });
  }
  setStatus('building the model…');
  try {
    const method = { dcgan: 'start', cyclegan: 'startCycleGan', pix2pix: 'startPix2Pix' }[family];
    await build(method, JSON.stringify(config));
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

// Steps left in a CycleGAN's or pix2pix's schedule (its learning rate is zero after them);
// DCGAN has no end.
function stepsLeft(step) {
  const c = state.config;
  if (!translating(state.family)) return Infinity;
  return Math.max(0, c.epoch_steps * (c.n_epochs + c.n_epochs_decay) - step);
}

// How often the run is shown: DCGAN's grid is drawn on the GPU and costs nothing to speak of;
// CycleGAN's and pix2pix's translations are read back, so they take at most PREVIEW_SHARE of
// the time.
const renderEvery = () => (translating(state.family) ? Math.max(RENDER_MS, state.previewMs / PREVIEW_SHARE) : RENDER_MS);

// One submission of `steps` steps, then the stats (which wait for the GPU), charts and grid.
async function burst(steps) {
  const s = await serial(async () => {
    const t0 = performance.now();
    const render = performance.now() - state.lastRender > renderEvery();
    const stats = await call('burst', [steps, render]);
    const dt = performance.now() - t0 - (stats.previewMs ?? 0);
    const per = dt / steps;
    state.msPerStep = state.msPerStep == null ? per : 0.8 * state.msPerStep + 0.2 * per;
    const ips = (steps * batchOf(state.config) * 1000) / dt;
    state.imagesPerSecond = state.imagesPerSecond == null ? ips : 0.8 * state.imagesPerSecond + 0.2 * ips;
    state.elapsedMs += dt;
    if (render && stats.finite) state.lastRender = performance.now();
    return stats;
  });
  charts.addStats(s);
  charts.draw();
  showStats(s);
  showPreview(s.preview, s.previewMs);
  // The last stats, without the pixels (what the browser tests read).
  state.lastStats = { ...s, preview: undefined };
  if (!s.finite) {
    diverged(s.step);
    return;
  }
  const every = Number($('quality-every').value);
  const due = every > 0 && Math.floor(s.step / every) > Math.floor(state.lastQualityStep / every);
  if (state.family === 'dcgan' && due && !tooFewForQuality()) await measureQuality();
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
        const left = stepsLeft(state.step);
        if (left === 0) {
          state.running = false;
          state.scheduleDone = true;
          break;
        }
        await burstOrRecover(Math.min(burstSize(), left));
        await nextTask(); // let the page draw and handle input between bursts
      }
    } catch (e) {
      state.running = false;
      showError(sentence(`Training stopped: ${message(e)}`));
    } finally {
      state.loop = null;
      state.running = false;
      if (state.scheduleDone) setStatus("done: the schedule's last step is trained, and its learning rate is zero");
      else if (!state.divergedAt) setStatus('paused');
      state.scheduleDone = false;
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
    (back
      ? `Roll back to step ${back.step}, then lower the learning rates${state.family === 'dcgan' ? ' or add label smoothing' : ''}.`
      : 'Reset to start again.');
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
    dataset: {
      id: d.id, name: d.name, builtin: d.builtin, family: state.family, preset: state.config.preset,
      size: state.config.size, line: d.line, found: d.found, limit: d.limit,
    },
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
  if (state.family === 'cyclegan') showCycleConfig(state.config);
  else if (state.family === 'pix2pix') showPix2PixConfig(state.config);
  else showConfig(state.config);
  showFamily();
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

// Does it copy, has it collapsed? Works on any dataset of two images or more; shares the
// quality measure's feature space (the first use on a dataset with classes trains it).
async function checkCopies() {
  const step = await serial(() => call('step'));
  const before = $('stat-state').textContent;
  setStatus('comparing 1,000 samples with the training images (the first time trains a small classifier)…');
  try {
    showCopies(step, await serial(() => call('checkCopies')));
  } catch (e) {
    $('copies').textContent = sentence(`The copy check failed: ${message(e)}`);
  }
  setStatus(before);
}

// The copy check's figures, its warning when they are worrying, and the 16 pairs.
function showCopies(step, c) {
  const percent = (x) => `${(100 * x).toFixed(1)}%`;
  $('copies').textContent = `At step ${step}: copy rate ${percent(c.copyRate)} — of ${c.samples} samples, that many lie nearer to one of the ${c.training} training images than a real image typically lies to its nearest other (about 50% for new images, near 100% for copies). Diversity ${c.diversity.toFixed(2)} — the samples' spread over the data's (about 1 when they vary as much as the data, near 0 when collapsed).`;
  $('copies').dataset.copyRate = String(c.copyRate);
  $('copies').dataset.diversity = String(c.diversity);
  $('copies-warning').hidden = !c.warning;
  $('copies-warning').textContent = c.warning ?? '';
  drawImage($('copies-pairs'), c.pairs, 2);
  $('copies-figure').hidden = false;
}

// ---------------------------------------------------------------- translating a picture

// The run's model in a file name: dcgan28, cyclegan64, pix2pix64.
const modelName = () => (translating(state.family) ? `${state.family}${state.config.size}` : state.config.preset);

// Translates the chosen picture with the run's generator (CycleGAN's G_A or G_B, as the
// direction menu says; pix2pix's G, A to B), and shows it beside its translation.
async function translatePicture() {
  const picture = state.picture;
  if (!picture) return;
  if (!(state.started && translating(state.family))) {
    $('translate-note').textContent = `${picture.name} is chosen: press Translate once a CycleGAN or pix2pix run is started or loaded.`;
    return;
  }
  const cyclegan = state.family === 'cyclegan';
  const aToB = !cyclegan || $('direction').value === 'AtoB';
  const how = cyclegan ? (aToB ? 'A → B (G_A)' : 'B → A (G_B)') : 'A → B (G)';
  try {
    const r = await serial(() => call('translate', [picture.name, picture.bytes, aToB]));
    drawImage($('translation'), r, Math.max(1, Math.min(4, Math.floor(256 / r.width))));
    const base = picture.name.replace(/\.[^.]*$/, '');
    state.translation = { png: r.png, name: `${base}-${aToB ? 'AtoB' : 'BtoA'}-step${state.step}.png` };
    $('translate-note').textContent = `${picture.name} ${how} at step ${state.step.toLocaleString('en')}, at ${state.config.size}×${state.config.size}.`;
    $('translate-note').className = 'muted';
  } catch (e) {
    state.translation = null;
    $('translate-note').textContent = sentence(`Could not translate ${picture.name}: ${message(e)}`);
    $('translate-note').className = 'error-text';
  }
}

async function choosePicture(file) {
  state.picture = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  await translatePicture();
}

function wirePicture() {
  wireFileDrop('picture-drop', 'picture-input', choosePicture);
  $('direction').addEventListener('change', guard(translatePicture));
  $('translate-button').addEventListener('click', guard(translatePicture));
  $('download-translation').addEventListener('click', () => {
    if (state.translation) download(state.translation.png, state.translation.name, 'image/png');
  });
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

// A drop zone (`dropId`) with its file input (`inputId`): the file dropped or chosen goes to
// `use`.
function wireFileDrop(dropId, inputId, use) {
  $(inputId).addEventListener('change', guard(async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) await use(file);
  }));
  const drop = $(dropId);
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', guard(async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) await use(file);
  }));
}

function wire() {
  wireFileDrop('drop', 'zip-input', loadZip);
  $('use-digits').addEventListener('click', guard(async () => useDataset(...(await loadBuiltin()))));

  $('start').addEventListener('click', guard(async () => {
    if (!state.started) await startRun();
    run();
  }));
  $('pause').addEventListener('click', guard(pause));
  $('step').addEventListener('click', guard(async () => {
    if (!state.started) await startRun();
    await burstOrRecover(1);
    const shown = await serial(() => call('render'));
    showPreview(shown.preview, shown.previewMs);
    setStatus(state.divergedAt ? 'diverged' : 'paused');
  }));
  $('reset').addEventListener('click', guard(async () => {
    await pause();
    await startRun();
  }));

  $('save').addEventListener('click', guard(async () => {
    const bytes = await checkpoint();
    download(bytes, `webgan-${modelName()}-step${state.lastCheckpoint.step}.safetensors`, 'application/octet-stream');
  }));
  // The generator that samples (or, for CycleGAN, the one the direction menu names) as ONNX.
  $('download-onnx').addEventListener('click', guard(async () => {
    const direction = state.family === 'cyclegan' ? $('direction').value : undefined;
    const { bytes, step } = await serial(() => call('exportOnnx', [direction]));
    const which = direction ? `-${direction}` : '';
    download(bytes, `webgan-${modelName()}${which}-step${step}.onnx`, 'application/octet-stream');
  }));
  // The generator as one web page (www/share/generator.html, filled in by the worker).
  $('share').addEventListener('click', guard(async () => {
    const { html, step } = await serial(() => call('sharePage', [$('share-half').checked]));
    download(html, `webgan-${modelName()}-step${step}.html`, 'text/html');
  }));
  $('load-checkpoint').addEventListener('change', guard(async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    await pause();
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      // A CycleGAN's or pix2pix's zip is read again at the checkpoint's size, rather than
      // resampled.
      const meta = checkpointMeta(bytes);
      const d = state.dataset;
      if (translating(meta?.family) && d?.file && d.family === meta.family && d.size !== meta.config?.size) {
        await redecode({ family: meta.family, size: meta.config.size });
      }
      await resumeFrom(bytes, file.name);
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
  // InfoGAN's codes: the worker writes the grid's latents and draws it again.
  wireCodes(async (codes) => {
    try {
      await serial(() => call('setCodes', codes));
    } catch (e) {
      showError(sentence(message(e)));
    }
  });
  $('new-noise').addEventListener('click', guard(async () => {
    await serial(() => call('newNoise', [(Math.random() * 2 ** 32) >>> 0]));
  }));
  $('truncation').addEventListener('input', (e) => {
    const psi = Number(e.target.value);
    $('truncation-value').textContent = psi > 0 ? psi.toFixed(2) : 'off';
  });
  $('truncation').addEventListener('change', guard(async (e) => {
    await serial(() => call('setTruncation', [Number(e.target.value)]));
  }));
  $('download-png').addEventListener('click', guard(async () => {
    const { png, step } = await serial(() => call('gridPng'));
    download(png, `webgan-${translating(state.family) ? 'translations' : 'samples'}-step${step}.png`, 'image/png');
  }));
  $('walk-button').addEventListener('click', guard(async () => {
    const img = await serial(() => call('interpolation', [(Math.random() * 2 ** 32) >>> 0, 10, Number($('class').value)]));
    drawImage($('walk'), img, img.width < 400 ? 2 : 1);
  }));
  $('samples').addEventListener('click', guard(showAttention));
  $('measure').addEventListener('click', guard(measureQuality));
  $('check-copies').addEventListener('click', guard(checkCopies));

  const form = $('config').elements;
  form.family.addEventListener('change', guard(familyChanged));
  form.preset.addEventListener('change', () => { fitRecipe(form.preset.value); showFamily(); });
  form.loss.addEventListener('change', fitLoss);
  form.size.addEventListener('change', () => { fitLayers(); showSchedule(); });
  for (const name of ['epochs', 'epochsDecay', 'cbatch']) form[name].addEventListener('input', showSchedule);
  wirePicture();

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
  const size = saved.config?.size;
  const model = saved.config?.preset ?? (size ? `${NAMES[saved.dataset?.family] ?? 'a GAN'} ${size}×${size}` : 'a GAN');
  $('offer-text').textContent =
    `An autosaved run is here: ${model} at step ${saved.step} on ${saved.dataset?.name ?? 'a dataset'}, saved ${ago} min ago.`;
  $('offer').hidden = false;
  $('offer-resume').onclick = guard(async () => {
    $('offer').hidden = true;
    const d = saved.dataset ?? { name: BUILTIN };
    if (d.builtin ?? d.name === BUILTIN) {
      if (!state.dataset?.builtin) await useDataset(...(await loadBuiltin()));
    } else {
      const shown = {
        id: d.id ?? newId(), name: d.name, builtin: false, file: null, family: d.family ?? 'dcgan',
        preset: d.preset, size: d.size, line: d.line, found: d.found, limit: d.limit,
      };
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

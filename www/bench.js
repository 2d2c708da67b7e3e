// The training-step benchmark: `preset`, `batch`, `steps` (timed per rep), `warmup` and `reps`
// from the query. DCGAN presets train on the built-in digits; the image-to-image ones
// (cyclegan64, cyclegan128, pix2pix64, pix2pix128, at the reference's defaults, batch 1, `ngf`
// and `ndf` from the query when given) on 16 images of noise per side, as `webgan bench train`. Each rep records `steps` steps, one submission each, and ends with one readback
// (the stats), which waits for all of them. The result goes to window.benchResult:
// { preset, batch, steps, ms_per_step, images_per_s, adapter, subgroups, rep_ms_per_step, d_loss,
// g_loss }.
import init, { Session } from './pkg/webgan.js';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const int = (key, fallback, min, max) => {
  const v = query.has(key) ? Number(query.get(key)) : fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${key}=${query.get(key)} is not a whole number in ${min}…${max}`);
  return v;
};

// DCGAN's defaults, unconditional: the model the TensorFlow.js peer trains.
function config(preset, batch) {
  const adam = (lr, beta1, beta2) => ({ kind: 'adam', lr, beta1, beta2, eps: 1e-8, weight_decay: 0 });
  const dcgan = adam(2e-4, 0.5, 0.999);
  // SAGAN's recipe (hinge loss, two time-scale Adam, z of 128), as `webgan train` sets it.
  const sagan = preset.startsWith('sagan');
  return {
    preset, nz: sagan ? 128 : 100, ngf: 64, ndf: 64, channels: preset === 'dcgan28' ? 1 : 3, classes: 0,
    batch, d_steps: 1, loss: sagan ? 'hinge' : 'bce', label_smoothing: 0,
    d_optimizer: sagan ? adam(4e-4, 0, 0.9) : dcgan, g_optimizer: sagan ? adam(1e-4, 0, 0.9) : dcgan,
    prior: 'normal', clip: 0.01, seed: '1',
  };
}

const GENERATING = ['dcgan28', 'dcgan32', 'dcgan64', 'sagan32', 'sagan64'];

// The image-to-image presets: family and side.
const IMAGE_TO_IMAGE = {
  cyclegan64: ['cyclegan', 64], cyclegan128: ['cyclegan', 128],
  pix2pix64: ['pix2pix', 64], pix2pix128: ['pix2pix', 128],
};

// `count` RGB images of noise at `side`, as a WGDS dataset (src/data/format.rs).
function noiseDataset(count, side, seed) {
  const header = new Uint32Array([1, count, 3, side, side, 0]);
  const pixels = count * 3 * side * side;
  const bytes = new Uint8Array(4 + header.byteLength + pixels);
  bytes.set([87, 71, 68, 83], 0); // "WGDS"
  bytes.set(new Uint8Array(header.buffer), 4);
  let state = seed >>> 0 || 1;
  for (let i = 4 + header.byteLength; i < bytes.length; i++) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    bytes[i] = (state >>> 24) & 255;
  }
  return bytes;
}

// The reference's defaults, as the page's form gives them.
function imageToImageOptions(family, size, ngf, ndf) {
  const common = {
    size, ngf, ndf, n_layers_D: 3, batch_size: 1, lr_g: 2e-4, beta1_g: 0.5, lr_d: 2e-4,
    beta1_d: 0.5, flip: true, seed: '1', n_epochs: 100, n_epochs_decay: 100,
  };
  if (family === 'pix2pix') return { ...common, gan_mode: 'vanilla', lambda_L1: 100 };
  return { ...common, n_blocks: 6, pool_size: 50, lambda_A: 10, lambda_B: 10, lambda_identity: 0.5 };
}

async function adapterInfo() {
  const adapter = await navigator.gpu.requestAdapter();
  const i = adapter?.info ?? {};
  return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    isFallbackAdapter: i.isFallbackAdapter ?? adapter?.isFallbackAdapter };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const status = (text) => { $('status').textContent = text; console.log(text); };

async function main() {
  const preset = query.get('preset') ?? 'dcgan28';
  const translation = IMAGE_TO_IMAGE[preset];
  if (!translation && !GENERATING.includes(preset)) {
    throw new Error(`unknown preset ${preset}: ${GENERATING.join(', ')}, ${Object.keys(IMAGE_TO_IMAGE).join(', ')}`);
  }
  // sagan64's 32×32 attention map fills a binding at 32 images, as its training default says.
  const batch = translation ? 1 : int('batch', preset === 'sagan64' ? 32 : 64, 2, 1024);
  const steps = int('steps', 10, 1, 10000);
  const warmup = int('warmup', 3, 1, 1000);
  const reps = int('reps', 1, 1, 100);
  if (!navigator.gpu) throw new Error('no WebGPU in this browser');
  await init();
  const session = await Session.open($('samples').transferControlToOffscreen());
  status(`building ${preset}, batch ${batch}`);
  if (translation) {
    const [family, size] = translation;
    const a = noiseDataset(16, size, 1);
    const b = noiseDataset(16, size, 2);
    const options = JSON.stringify(imageToImageOptions(family, size, int('ngf', 64, 1, 1024), int('ndf', 64, 1, 1024)));
    if (family === 'cyclegan') {
      session.setDomains(a, b, undefined, undefined);
      await session.startCycleGan(options);
    } else {
      session.setPairs(a, b, undefined, undefined);
      await session.startPix2Pix(options);
    }
  } else {
    const res = await fetch('data/digits.wgds');
    if (!res.ok) throw new Error(`the built-in digits are missing (data/digits.wgds: HTTP ${res.status}); run ./build.sh build`);
    session.setDataset(new Uint8Array(await res.arrayBuffer()));
    await session.start(JSON.stringify(config(preset, batch)));
  }
  const total = warmup + steps * reps;
  let done = 0;
  const tick = () => { done += 1; $('progress').value = done / total; };

  // Warm-up: pipeline compilation and first-use costs stay out of the timing.
  const t0 = performance.now();
  for (let i = 0; i < warmup; i++) { session.train(1); tick(); }
  await session.stats();
  const warmupMs = performance.now() - t0;
  status(`warm-up: ${warmup} steps in ${(warmupMs / 1000).toFixed(1)} s`);

  const repMs = [];
  let last;
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) { session.train(1); tick(); }
    last = await session.stats();
    const ms = (performance.now() - start) / steps;
    repMs.push(ms);
    status(`rep ${r + 1}/${reps}: ${ms.toFixed(0)} ms per step`);
  }
  const errors = session.takeErrors();
  if (errors.length) throw new Error(`GPU errors: ${errors.join('; ')}`);
  if (!last.finite) throw new Error('the losses are not finite');
  const ms = median(repMs);
  const result = {
    preset, batch, steps, reps, warmup,
    ms_per_step: Math.round(ms * 10) / 10,
    images_per_s: Math.round(batch * 1e4 / ms) / 10,
    adapter: await adapterInfo(),
    webgan_adapter: session.adapter,
    subgroups: session.subgroups,
    rep_ms_per_step: repMs.map((v) => Math.round(v)),
    warmup_ms: Math.round(warmupMs),
    d_loss: last.dLoss, g_loss: last.gLoss,
    losses: translation ? last : undefined,
  };
  $('result').textContent = JSON.stringify(result, null, 2);
  status(`${preset}, batch ${batch}: ${result.ms_per_step} ms per step, ${result.images_per_s} images/s`);
  window.benchResult = result;
}

main().catch((e) => {
  const message = String(e && e.message ? e.message : e);
  status(`error: ${message}`);
  window.benchResult = { error: message };
});

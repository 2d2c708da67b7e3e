// The model-and-training form, to and from the JSON that webgan's TrainConfig reads (the same
// JSON a checkpoint carries in its metadata).

const form = () => document.getElementById('config');

const CHANNELS = { dcgan28: 1, dcgan32: 3, dcgan64: 3 };

// Reads the form; `classes` is the dataset's class count (0: unconditional). Throws a sentence
// for a value out of range.
export function readConfig(classes) {
  const f = form().elements;
  const num = (name, { min = -Infinity, max = Infinity, int = false } = {}) => {
    const v = Number(f[name].value);
    const label = f[name].closest('label').firstChild.textContent.trim();
    if (f[name].value === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      throw new Error(`${label}: ${f[name].value === '' ? 'empty' : f[name].value} is not ${int ? 'a whole number' : 'a number'} in ${min}…${max}`);
    }
    return v;
  };
  const width = num('width', { min: 2, max: 512, int: true });
  const adam = (lr, beta1) => ({ kind: 'adam', lr, beta1, beta2: 0.999, eps: 1e-8, weight_decay: 0 });
  const preset = f.preset.value;
  return {
    preset,
    nz: num('nz', { min: 1, max: 1024, int: true }),
    ngf: width,
    ndf: width,
    channels: CHANNELS[preset],
    classes: f.conditional.checked ? classes : 0,
    batch: num('batch', { min: 2, max: 1024, int: true }),
    d_steps: num('k', { min: 1, max: 100, int: true }),
    loss: f.loss.value,
    augment: f.augment.value,
    label_smoothing: num('smoothing', { min: 0, max: 0.49 }),
    d_optimizer: adam(num('lrD', { min: 0, max: 1 }), num('beta1D', { min: 0, max: 0.999 })),
    g_optimizer: adam(num('lrG', { min: 0, max: 1 }), num('beta1G', { min: 0, max: 0.999 })),
    prior: f.prior.value,
    clip: 0.01,
    seed: String(num('seed', { min: 0, max: 2 ** 53, int: true })),
    // 0 (the default) keeps no moving average of G.
    ema: num('ema', { min: 0, max: 0.9999 }) || null,
  };
}

// Shows a configuration (e.g. a resumed checkpoint's) in the form.
export function showConfig(c) {
  const f = form().elements;
  // Checkpoints hold f32 values: 2e-4 comes back as 0.000199999995.
  const round = (v) => Number(Number(v).toPrecision(6));
  f.preset.value = c.preset;
  f.width.value = c.ngf;
  f.nz.value = c.nz;
  f.conditional.checked = c.classes > 0;
  f.loss.value = c.loss;
  f.k.value = c.d_steps;
  // A policy the menu does not list (from the CLI) is shown as it is.
  const policy = c.augment || 'none';
  if (![...f.augment.options].some((o) => o.value === policy)) f.augment.add(new Option(policy, policy));
  f.augment.value = policy;
  f.lrD.value = round(c.d_optimizer.lr);
  f.lrG.value = round(c.g_optimizer.lr);
  if (c.d_optimizer.beta1 !== undefined) f.beta1D.value = round(c.d_optimizer.beta1);
  if (c.g_optimizer.beta1 !== undefined) f.beta1G.value = round(c.g_optimizer.beta1);
  f.batch.value = c.batch;
  f.prior.value = c.prior;
  f.smoothing.value = round(c.label_smoothing);
  f.ema.value = c.ema ? round(c.ema) : 0;
  f.seed.value = c.seed;
}

// Fits the form to a new dataset: its preset, and conditional when it has classes.
export function fitToDataset(preset, classes) {
  const f = form().elements;
  f.preset.value = preset;
  f.conditional.checked = classes > 0;
  f.conditional.disabled = classes === 0;
}

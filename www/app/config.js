// The model-and-training form, to and from the JSON that webgan's configurations read (the same
// JSON a checkpoint carries in its metadata): DCGAN's TrainConfig, and CycleGAN's and pix2pix's
// options under the reference implementation's names.

const form = () => document.getElementById('config');

const CHANNELS = { dcgan28: 1, dcgan32: 3, dcgan64: 3, sagan32: 3, sagan64: 3, infogan28: 1 };
// The image-to-image sizes in the page: 64 so that a first run is quick, 128 for more detail.
export const CYCLE_SIZES = [64, 128];
// pix2pix's U-Net halves the side down to 1×1: a power of two, from 32 (its fewest levels).
const UNET_SMALLEST = 32;

// Each preset's recipe defaults, as `webgan train` takes them: DCGAN's (Radford et al.),
// SAGAN's (Zhang et al.: hinge loss, two time-scale Adam with β1 0, β2 0.9, z of 128; sagan64
// at batch 32, whose 32×32 attention map fills a GPU binding at 32 images) and InfoGAN's
// (Chen et al., as openai/InfoGAN trains the digits: noise of 62 uniform in (−1, 1), one
// categorical code of 10 values and 2 continuous codes, G at 1e-3, batch 128, λ 1).
const DCGAN_RECIPE = { recipe: 'dcgan', loss: 'bce', lrD: 2e-4, lrG: 2e-4, beta1D: 0.5, beta1G: 0.5, beta2: 0.999, nz: 100, batch: 64, prior: 'normal' };
const SAGAN_RECIPE = { recipe: 'sagan', loss: 'hinge', lrD: 4e-4, lrG: 1e-4, beta1D: 0, beta1G: 0, beta2: 0.9, nz: 128, batch: 64, prior: 'normal' };
const INFOGAN_RECIPE = {
  recipe: 'infogan', loss: 'bce', lrD: 2e-4, lrG: 1e-3, beta1D: 0.5, beta1G: 0.5, beta2: 0.999, nz: 62, batch: 128, prior: 'uniform',
  categorical: 10, continuous: 2, infoReg: 1,
};
const recipeOf = (preset) => {
  if (preset.startsWith('sagan')) return { ...SAGAN_RECIPE, batch: preset === 'sagan64' ? 32 : 64 };
  return isInfogan(preset) ? INFOGAN_RECIPE : DCGAN_RECIPE;
};

// The presets whose G takes InfoGAN's codes after its noise.
export const isInfogan = (preset) => /^infogan/.test(preset ?? '');

// WGAN-GP's defaults (Gulrajani et al.): 5 critic steps, Adam 1e-4 with β1 0 and β2 0.9. Set
// when the loss menu turns to it.
export function fitLoss() {
  const f = form().elements;
  if (f.loss.value !== 'wgan-gp') return;
  f.k.value = 5;
  for (const [name, value] of Object.entries({ lrD: 1e-4, lrG: 1e-4, beta1D: 0, beta1G: 0, beta2: 0.9 })) f[name].value = value;
}

// Sets the recipe's fields to `preset`'s defaults where they differ from those of the preset
// shown before (`select.dataset.shown`): all of them on a change of recipe (DCGAN, SAGAN,
// InfoGAN), only the batch within one, so that a person's choices within a recipe stay.
export function fitRecipe(preset) {
  const select = form().elements.preset;
  const [now, was] = [recipeOf(preset), recipeOf(select.dataset.shown ?? 'dcgan28')];
  const sameRecipe = now.recipe === was.recipe;
  for (const [name, value] of Object.entries(now)) {
    if (name === 'recipe') continue;
    if (value !== was[name] && (!sameRecipe || name === 'batch')) form().elements[name].value = value;
  }
  select.dataset.shown = preset;
}

// The form's field `name` as a number in min…max; throws a sentence naming the field.
function field(name, { min = -Infinity, max = Infinity, int = false } = {}) {
  const f = form().elements;
  const v = Number(f[name].value);
  const label = f[name].closest('label').firstChild.textContent.trim();
  if (f[name].value === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new Error(`${label}: ${f[name].value === '' ? 'empty' : f[name].value} is not ${int ? 'a whole number' : 'a number'} in ${min}…${max}`);
  }
  return v;
}

// The family the form is set to: 'dcgan', 'cyclegan' or 'pix2pix'.
export const family = () => form().elements.family.value;

// Reads the form; `classes` is the dataset's class count (0: unconditional). Throws a sentence
// for a value out of range.
export function readConfig(classes) {
  const f = form().elements;
  const num = field;
  const width = num('width', { min: 2, max: 512, int: true });
  const beta2 = num('beta2', { min: 0, max: 0.9999 });
  const adam = (lr, beta1) => ({ kind: 'adam', lr, beta1, beta2, eps: 1e-8, weight_decay: 0 });
  const preset = f.preset.value;
  // InfoGAN learns its codes without labels: never conditional.
  const infogan = isInfogan(preset);
  return {
    preset,
    nz: num('nz', { min: 1, max: 1024, int: true }),
    ngf: width,
    ndf: width,
    channels: CHANNELS[preset],
    classes: f.conditional.checked && !infogan ? classes : 0,
    categorical: infogan ? num('categorical', { min: 0, max: 100, int: true }) : 0,
    continuous: infogan ? num('continuous', { min: 0, max: 16, int: true }) : 0,
    info_reg_coeff: infogan ? num('infoReg', { min: 0, max: 1000 }) : 1,
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
    lambda_gp: 10,
    // 0 (the default) is no R1 penalty.
    r1: num('r1', { min: 0, max: 1000 }) || null,
  };
}

// Shows a DCGAN configuration (e.g. a resumed checkpoint's) in the form.
export function showConfig(c) {
  const f = form().elements;
  // Checkpoints hold f32 values: 2e-4 comes back as 0.000199999995.
  const round = (v) => Number(Number(v).toPrecision(6));
  f.family.value = 'dcgan';
  f.preset.value = c.preset;
  f.preset.dataset.shown = c.preset;
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
  if (c.d_optimizer.beta2 !== undefined) f.beta2.value = round(c.d_optimizer.beta2);
  f.batch.value = c.batch;
  f.prior.value = c.prior;
  f.smoothing.value = round(c.label_smoothing);
  f.ema.value = c.ema ? round(c.ema) : 0;
  f.r1.value = c.r1 ? round(c.r1) : 0;
  f.seed.value = c.seed;
  if (isInfogan(c.preset)) {
    f.categorical.value = c.categorical;
    f.continuous.value = c.continuous;
    f.infoReg.value = round(c.info_reg_coeff ?? 1);
  }
}

// Fits the form to a new dataset of images: DCGAN's family, the preset that fits it (SAGAN's
// of that size when a SAGAN preset was chosen, InfoGAN's when it was and the images are
// dcgan28's), and conditional when it has classes.
export function fitToDataset(preset, classes) {
  const f = form().elements;
  f.family.value = 'dcgan';
  const sagan = f.preset.value.startsWith('sagan');
  const infogan = isInfogan(f.preset.value) && preset === 'dcgan28';
  f.preset.value = infogan ? f.preset.value : sagan ? (preset === 'dcgan64' ? 'sagan64' : 'sagan32') : preset;
  fitRecipe(f.preset.value);
  f.conditional.checked = classes > 0;
  f.conditional.disabled = classes === 0;
}

// CycleGAN's options as the session's startCycleGan reads them, with the reference's names.
// Throws a sentence for a value out of range.
export function readCycleConfig() {
  const f = form().elements;
  const width = field('width', { min: 1, max: 512, int: true });
  return {
    size: Number(f.size.value),
    ngf: width,
    ndf: width,
    n_blocks: field('blocks', { min: 0, max: 50, int: true }),
    n_layers_D: field('layersD', { min: 1, max: 8, int: true }),
    pool_size: field('pool', { min: 0, max: 1000, int: true }),
    batch_size: field('cbatch', { min: 1, max: 64, int: true }),
    lambda_A: field('lambdaA', { min: 0, max: 1000 }),
    lambda_B: field('lambdaB', { min: 0, max: 1000 }),
    lambda_identity: field('lambdaIdt', { min: 0, max: 100 }),
    lr_g: field('lrG', { min: 0, max: 1 }),
    beta1_g: field('beta1G', { min: 0, max: 0.999 }),
    lr_d: field('lrD', { min: 0, max: 1 }),
    beta1_d: field('beta1D', { min: 0, max: 0.999 }),
    n_epochs: field('epochs', { min: 0, max: 100000, int: true }),
    n_epochs_decay: field('epochsDecay', { min: 0, max: 100000, int: true }),
    flip: f.flip.checked,
    seed: String(field('seed', { min: 0, max: 2 ** 53, int: true })),
  };
}

// Shows a CycleGAN configuration (CycleGanRun's JSON, a checkpoint's) in the form.
export function showCycleConfig(c) {
  const f = form().elements;
  const round = (v) => Number(Number(v).toPrecision(6));
  f.family.value = 'cyclegan';
  offerSize(c.size);
  f.width.value = c.ngf;
  f.blocks.value = c.n_blocks;
  f.layersD.value = c.n_layers_D;
  f.pool.value = c.pool_size;
  f.cbatch.value = c.batch_size;
  f.lambdaA.value = round(c.lambda_A);
  f.lambdaB.value = round(c.lambda_B);
  f.lambdaIdt.value = round(c.lambda_identity);
  f.lrG.value = round(c.g_optimizer.lr);
  f.lrD.value = round(c.d_optimizer.lr);
  if (c.g_optimizer.beta1 !== undefined) f.beta1G.value = round(c.g_optimizer.beta1);
  if (c.d_optimizer.beta1 !== undefined) f.beta1D.value = round(c.d_optimizer.beta1);
  f.epochs.value = c.n_epochs;
  f.epochsDecay.value = c.n_epochs_decay;
  f.flip.checked = !c.no_flip;
  f.seed.value = c.seed;
}

// The size CycleGAN trains at on images whose largest side is `side`: 64, or the images' own
// (a multiple of 4, at least 8) when they are smaller.
export function cycleSizeFor(side) {
  return side >= CYCLE_SIZES[0] ? CYCLE_SIZES[0] : Math.max(8, side - (side % 4));
}

// The size menu offers 64 and 128, and `size` too when it is another (`note` says why);
// `size` is chosen.
export function offerSize(size, note = 'the images\' size') {
  const select = form().elements.size;
  const sizes = [...new Set([size, ...CYCLE_SIZES])].sort((a, b) => a - b);
  select.replaceChildren(...sizes.map((s) => new Option(`${s}×${s}${CYCLE_SIZES.includes(s) ? '' : ` · ${note}`}`, String(s))));
  select.value = String(size);
  fitLayers({ reset: true });
}

// PatchGAN's layers halve the side each: no more than leave a patch at the chosen size (the
// reference's 3 from 24 pixels up). `reset` sets them to that (a new dataset's size); else they
// are only lowered when they would not fit (a person's choice of size).
export function fitLayers({ reset = false } = {}) {
  const f = form().elements;
  const size = Number(f.size.value);
  let most = 1;
  while (most < 3 && 3 << (most + 1) <= size) most++;
  if (reset || Number(f.layersD.value) > most) f.layersD.value = most;
}

// Fits the form to two domains decoded for `size`: CycleGAN at that size.
export function fitToDomains(size) {
  form().elements.family.value = 'cyclegan';
  offerSize(size);
}

// pix2pix's options as the session's startPix2Pix reads them, with the reference's names.
// Throws a sentence for a value out of range.
export function readPix2PixConfig() {
  const f = form().elements;
  const width = field('width', { min: 1, max: 512, int: true });
  return {
    size: Number(f.size.value),
    ngf: width,
    ndf: width,
    n_layers_D: field('layersD', { min: 1, max: 8, int: true }),
    gan_mode: f.ganMode.value,
    lambda_L1: field('lambdaL1', { min: 0, max: 10000 }),
    batch_size: field('cbatch', { min: 1, max: 64, int: true }),
    lr_g: field('lrG', { min: 0, max: 1 }),
    beta1_g: field('beta1G', { min: 0, max: 0.999 }),
    lr_d: field('lrD', { min: 0, max: 1 }),
    beta1_d: field('beta1D', { min: 0, max: 0.999 }),
    n_epochs: field('epochs', { min: 0, max: 100000, int: true }),
    n_epochs_decay: field('epochsDecay', { min: 0, max: 100000, int: true }),
    flip: f.flip.checked,
    seed: String(field('seed', { min: 0, max: 2 ** 53, int: true })),
  };
}

// Shows a pix2pix configuration (Pix2PixRun's JSON, a checkpoint's) in the form.
export function showPix2PixConfig(c) {
  const f = form().elements;
  const round = (v) => Number(Number(v).toPrecision(6));
  f.family.value = 'pix2pix';
  offerSize(c.size, pix2pixSizeNote(c.size));
  f.width.value = c.ngf;
  f.layersD.value = c.n_layers_D;
  f.ganMode.value = c.gan_mode;
  f.lambdaL1.value = round(c.lambda_L1);
  f.cbatch.value = c.batch_size;
  f.lrG.value = round(c.g_optimizer.lr);
  f.lrD.value = round(c.d_optimizer.lr);
  if (c.g_optimizer.beta1 !== undefined) f.beta1G.value = round(c.g_optimizer.beta1);
  if (c.d_optimizer.beta1 !== undefined) f.beta1D.value = round(c.d_optimizer.beta1);
  f.epochs.value = c.n_epochs;
  f.epochsDecay.value = c.n_epochs_decay;
  f.flip.checked = !c.no_flip;
  f.seed.value = c.seed;
}

// The size pix2pix trains at on pairs whose pictures are at most `side` pixels on their
// shorter side (a side-by-side picture's height, the side of each half): 64, or the U-Net's
// smallest when they are smaller (as the CLI chooses).
export function pix2pixSizeFor(side) {
  return side >= CYCLE_SIZES[0] ? CYCLE_SIZES[0] : UNET_SMALLEST;
}

// Why the size menu offers pix2pix's `size` beside 64 and 128: small pictures, or a checkpoint
// trained at another.
const pix2pixSizeNote = (size) => (size < CYCLE_SIZES[0] ? 'for small images' : 'as trained');

// Whether pix2pix's U-Net takes `size`: a power of two from 32.
export function pix2pixSizeOk(size) {
  return size >= UNET_SMALLEST && (size & (size - 1)) === 0;
}

// Fits the form to pairs decoded for `size`: pix2pix at that size.
export function fitToPairs(size) {
  form().elements.family.value = 'pix2pix';
  offerSize(size, pix2pixSizeNote(size));
}

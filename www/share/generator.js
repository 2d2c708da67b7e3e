// A trained generator's page, filled in by `webgan export --format html` or the training page's
// "Share as a web page" (src/share/page.rs): the wasm, its glue and the weights sit in this file
// as base64, and the glue runs as a blob: module, so the page works from a file:// URL with no
// network. It draws on this thread: new noise, a class, the truncation trick and latent walks
// for a DCGAN, and an InfoGAN's codes from a selector and sliders; a person's picture
// translated for pix2pix and CycleGAN.
const $ = (id) => document.getElementById(id);

// As the training page says it (www/app/main.js).
const NO_WEBGPU = 'This browser has no WebGPU, which webgan needs. Use Chrome or Edge 113+ (on Linux, ' +
  'start Chrome with --enable-unsafe-webgpu --enable-features=Vulkan), Safari 26+, or Firefox 141+ on Windows.';

const FAMILIES = { dcgan: 'DCGAN', pix2pix: 'pix2pix', cyclegan: 'CycleGAN' };
// Grids and walks are scaled up by whole pixels to about this width.
const WIDTH = 520;

const decode = (base64) => Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0));
const text = (bytes) => new TextDecoder().decode(bytes);
const moduleUrl = (source) => URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));

// The wasm-bindgen glue as a module, its snippet imports pointed at blob: modules of their own,
// and the wasm instantiated from its bytes.
async function loadWasm() {
  let glue = text(decode($('webgan-glue').textContent));
  for (const [path, source] of Object.entries(JSON.parse($('webgan-snippets').textContent))) {
    // The import statements only: the same path names the snippet's imports for the wasm.
    glue = glue.replaceAll(`from ${JSON.stringify(`./${path}`)}`, `from ${JSON.stringify(moduleUrl(text(decode(source))))}`);
  }
  const wasm = await import(moduleUrl(glue));
  await wasm.default({ module_or_path: decode($('webgan-wasm').textContent) });
  return wasm;
}

function showError(e) {
  const m = String(e?.message ?? e).trim();
  $('error').textContent = /[.!?]$/.test(m) ? m : `${m}.`;
  $('error').hidden = false;
}

function draw(canvas, img) {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d').putImageData(new ImageData(img.rgba, img.width, img.height), 0, 0);
  canvas.style.width = `${img.width * Math.max(2, Math.floor(WIDTH / img.width))}px`;
  const d = document.body.dataset;
  d.draws = String((Number(d.draws) || 0) + 1);
  // For the benchmark (tests/browser/bench-share.mjs): milliseconds from navigation.
  d.firstSampleMs ??= String(Math.round(performance.now()));
}

const random = () => (Math.random() * 2 ** 32) >>> 0;

// Runs one call at a time (the wasm object must not be used while another call awaits the GPU),
// showing what goes wrong.
let queue = Promise.resolve();
const serial = (f) => (...args) => {
  queue = queue.then(() => f(...args)).catch(showError);
  return queue;
};

// An InfoGAN's codes: the categorical code's selector and a slider per continuous code, each
// "drawn" (every sample its own draw) until it is moved. `redraw` runs after each change;
// changes that come while one is drawn fold into the next.
function wireCodes(g, redraw) {
  const sliders = [];
  for (let v = 0; v < g.categorical; v++) $('code-categorical').append(new Option(`value ${v}`, String(v)));
  $('code-categorical').disabled = g.categorical === 0;
  let busy = null;
  let again = false;
  const apply = () => {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      do {
        again = false;
        const continuous = Float32Array.from(sliders, (s) => (s.dataset.drawn ? NaN : Number(s.value)));
        await redraw(() => g.setCodes(Number($('code-categorical').value), continuous));
        document.body.dataset.codes = String((Number(document.body.dataset.codes) || 0) + 1);
      } while (again);
    })().finally(() => { busy = null; });
    return busy;
  };
  for (let j = 0; j < g.continuous; j++) {
    const name = `c${j + 1}`;
    const input = Object.assign(document.createElement('input'), { type: 'range', min: -2, max: 2, step: 0.1, value: 0, name });
    input.dataset.drawn = '1';
    const output = Object.assign(document.createElement('output'), { textContent: 'drawn' });
    const label = document.createElement('label');
    label.title = `Continuous code ${name}: training drew it uniform in (−1, 1), and beyond shows how G extrapolates; "drawn" gives each sample its own draw`;
    label.append(`${name} `, input, ' ', output);
    const drawn = Object.assign(document.createElement('button'), { type: 'button', textContent: 'reset' });
    drawn.title = `Back to drawn: each sample its own ${name}, as in training`;
    input.addEventListener('input', () => {
      input.dataset.drawn = '';
      output.textContent = Number(input.value).toFixed(1);
      apply();
    });
    drawn.addEventListener('click', () => {
      input.dataset.drawn = '1';
      input.value = 0;
      output.textContent = 'drawn';
      apply();
    });
    const span = Object.assign(document.createElement('span'), { className: 'code' });
    span.append(label, drawn);
    $('code-sliders').append(span);
    sliders.push(input);
  }
  $('code-categorical').addEventListener('change', apply);
  $('codes').hidden = false;
}

function wireDcgan(g) {
  const view = { seed: undefined, cls: -1, psi: undefined, walkSeed: 1 };
  const samples = async () => draw($('samples'), await g.samples(view.seed, view.cls, view.psi));
  const walk = async () => draw($('walk'), await g.walk(view.walkSeed, 10, view.cls, view.psi));
  if (g.classes > 0) {
    for (let k = 0; k < g.classes; k++) $('class').append(new Option(`class ${k}`, String(k)));
    $('class-label').hidden = false;
  }
  $('class').addEventListener('change', serial(async (e) => {
    view.cls = Number(e.target.value);
    await samples();
    await walk();
  }));
  $('new-noise').addEventListener('click', serial(async () => {
    view.seed = random();
    await samples();
  }));
  $('truncation').addEventListener('input', (e) => {
    const psi = Number(e.target.value);
    $('truncation-value').textContent = psi > 0 ? psi.toFixed(2) : 'off';
  });
  $('truncation').addEventListener('change', serial(async (e) => {
    const psi = Number(e.target.value);
    view.psi = psi > 0 ? psi : undefined;
    await samples();
    await walk();
  }));
  $('walk-button').addEventListener('click', serial(async () => {
    view.walkSeed = random();
    await walk();
  }));
  for (const id of ['new-noise', 'truncation', 'walk-button']) $(id).disabled = false;
  // A uniform prior (InfoGAN's): truncating a normal draw means nothing there.
  if (g.uniformPrior) $('truncation-label').hidden = true;
  if (g.categorical + g.continuous > 0) {
    wireCodes(g, serial(async (set) => {
      set();
      await samples();
      await walk();
    }));
  }
  return async () => {
    await samples();
    await walk();
  };
}

function wireTranslation(g) {
  let picture = null;
  const translate = serial(async () => {
    if (!picture) return;
    const aToB = g.family !== 'cyclegan' || $('direction').value === 'AtoB';
    draw($('translation'), await g.translate(picture.name, picture.bytes, aToB));
  });
  const choose = async (file) => {
    if (!file) return;
    picture = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
    await translate();
  };
  $('picture-input').addEventListener('change', (e) => choose(e.target.files[0]));
  const drop = document.querySelector('.drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    choose(e.dataTransfer.files[0]);
  });
  $('direction').addEventListener('change', translate);
  return async () => {};
}

// The browser says more about its adapter than wgpu passes on (as the training page shows it).
async function adapterName(fallback) {
  const info = (await navigator.gpu.requestAdapter().catch(() => null))?.info;
  const parts = [info?.vendor, info?.architecture, info?.description].filter(Boolean);
  const named = parts.length ? parts.join(' ') : fallback;
  return info?.isFallbackAdapter || /swiftshader/i.test(named) ? `${named} (a software GPU: slow)` : named;
}

async function main() {
  const half = $('webgan-weights').dataset.half === 'true';
  if (half) $('half-note').textContent = ', stored as 16-bit floats,';
  if (!navigator.gpu) {
    $('adapter').textContent = '';
    throw new Error(NO_WEBGPU);
  }
  const wasm = await loadWasm();
  const g = await wasm.Generator.open(decode($('webgan-weights').textContent));
  document.body.dataset.openedMs = String(Math.round(performance.now()));
  const infogan = g.categorical + g.continuous > 0;
  const family = infogan ? 'InfoGAN' : g.model.startsWith('sagan') ? 'SAGAN' : FAMILIES[g.family];
  const classes = g.classes > 0 ? `, conditional on ${g.classes} classes` : '';
  const codes = infogan ? `, with ${[g.categorical ? `a categorical code of ${g.categorical} values` : '', g.continuous ? `${g.continuous} continuous code${g.continuous === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ')}` : '';
  $('about').textContent = `${infogan ? 'An' : 'A'} ${family} generator (${g.model}${classes}${codes}), trained for ${g.step.toLocaleString('en')} step${g.step === 1 ? '' : 's'}` +
    `${half ? '; weights stored as 16-bit floats' : ''}.`;
  document.title = `${infogan ? 'An' : 'A'} ${family} trained with webgan`;
  $('adapter').textContent = `GPU: ${await adapterName(g.adapter)}`;
  for (const el of document.querySelectorAll('[data-view]')) {
    el.hidden = !el.dataset.view.split(' ').includes(g.family);
  }
  const first = g.family === 'dcgan' ? wireDcgan(g) : wireTranslation(g);
  await first();
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  showError(e);
  document.body.dataset.ready = 'error';
});

// An InfoGAN run's codes under its sample grid: the categorical code's selector (a row per
// value, or one value in the whole grid) and a slider per continuous code (−2 to 2), each
// "drawn" (every sample its own draw, as in training) until it is moved and again after its
// reset. Every change goes to the session as [categorical (−1: a row per value),
// Float32Array of the continuous codes (NaN: drawn)], as fast as it takes them: changes that
// come while one is on its way fold into the next.
const $ = (id) => document.getElementById(id);

let apply = async () => {};
let sending = null;
let again = false;

// `send(codes)` hands the codes to the session and resolves once the grid is drawn again.
export function wireCodes(send) {
  apply = send;
  $('code-categorical').addEventListener('change', changed);
}

// The controls for a run of `config` (a DCGAN configuration; none for other families), every
// code drawn, as a new run's session has them.
export function fillCodes(config) {
  const k = config?.categorical ?? 0;
  const m = config?.continuous ?? 0;
  const values = Array.from({ length: k }, (_, v) => new Option(`value ${v}`, String(v)));
  $('code-categorical').replaceChildren(new Option(k ? 'a row per value' : 'none', '-1'), ...values);
  $('code-sliders').replaceChildren(...Array.from({ length: m }, (_, j) => slider(j)));
}

function slider(j) {
  const name = `c${j + 1}`;
  const input = Object.assign(document.createElement('input'), { type: 'range', min: -2, max: 2, step: 0.1, value: 0, name });
  input.dataset.drawn = '1';
  const output = Object.assign(document.createElement('output'), { textContent: 'drawn' });
  const label = document.createElement('label');
  label.title = `Continuous code ${name}: training draws it uniform in (−1, 1), and beyond shows how G extrapolates; "drawn" gives each sample its own draw`;
  label.append(`${name} `, input, ' ', output);
  const reset = Object.assign(document.createElement('button'), { type: 'button', className: 'quiet', textContent: 'reset' });
  reset.title = `Back to drawn: each sample its own ${name}, as in training`;
  input.addEventListener('input', () => {
    input.dataset.drawn = '';
    output.textContent = Number(input.value).toFixed(1);
    changed();
  });
  reset.addEventListener('click', () => {
    input.dataset.drawn = '1';
    input.value = 0;
    output.textContent = 'drawn';
    changed();
  });
  const span = Object.assign(document.createElement('span'), { className: 'code' });
  span.append(label, reset);
  return span;
}

// The codes as the controls stand.
function codesNow() {
  const sliders = [...$('code-sliders').querySelectorAll('input')];
  return [Number($('code-categorical').value), Float32Array.from(sliders, (s) => (s.dataset.drawn ? NaN : Number(s.value)))];
}

function changed() {
  if (sending) {
    again = true;
    return;
  }
  sending = (async () => {
    do {
      again = false;
      await apply(codesNow());
      // For the browser tests: how many times the codes reached the grid.
      document.body.dataset.codes = String((Number(document.body.dataset.codes) || 0) + 1);
    } while (again);
  })().finally(() => { sending = null; });
}

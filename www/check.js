// Loads the wasm package and runs the kernel self-check on this browser's GPU.
import init, { selfCheck } from './pkg/webgan.js';

const $ = (id) => document.getElementById(id);

async function main() {
  if (!navigator.gpu) {
    fail('This browser has no WebGPU. Use Chrome or Edge 113+, Safari 26+, or Firefox 141+ on ' +
      'Windows; on Linux, start Chrome with --enable-unsafe-webgpu.');
    return;
  }
  await init();
  const result = await selfCheck();
  $('adapter').textContent = `Adapter: ${result.adapter}` +
    (result.subgroups ? ', with subgroups' : ', without subgroups') +
    (result.subgroupSize ? ` of ${result.subgroupSize} lanes` : '');
  document.body.dataset.subgroups = result.subgroups;
  const body = $('checks').querySelector('tbody');
  for (const c of result.checks) {
    const row = body.insertRow();
    row.insertCell().textContent = c.name;
    const err = row.insertCell();
    err.textContent = c.maxError.toExponential(2);
    err.className = 'num';
    const mark = row.insertCell();
    mark.textContent = c.passed ? 'ok' : 'FAILED';
    mark.className = c.passed ? 'ok' : 'bad';
  }
  $('checks').hidden = false;
  $('progress').hidden = true;
  $('verdict').textContent = result.passed
    ? 'Every kernel agrees with the CPU reference.'
    : 'Some kernels disagree with the CPU reference: this GPU or driver computes them wrongly.';
  $('verdict').className = result.passed ? 'ok' : 'bad';
  document.body.dataset.selfCheck = result.passed ? 'passed' : 'failed';
}

function fail(message) {
  $('progress').hidden = true;
  $('adapter').textContent = '';
  $('verdict').textContent = message;
  $('verdict').className = 'error';
  document.body.dataset.selfCheck = 'error';
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));

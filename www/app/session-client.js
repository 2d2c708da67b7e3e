// The page's side of the session worker (session-worker.js): each call a promise, answered in
// order; the GPU errors and the canvas size that come with every answer go to the handlers.

// A module worker under this page's Content-Security-Policy. A worker loaded from its own URL
// takes its policy from HTTP headers, which a static server does not send; one started from a
// blob: URL inherits the page's, so nothing leaves from the worker either.
function moduleWorker(path) {
  const source = `import ${JSON.stringify(new URL(path, import.meta.url).href)};`;
  return new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
}

// Starts the worker, hands it `canvas` to draw into, and resolves to `{ call, adapter }`, where
// `call(method, args, { transfer, onProgress })` runs one of the worker's methods.
export async function openSession(canvas, { onErrors, onSize }) {
  const worker = moduleWorker('./session-worker.js');
  const pending = new Map();
  let ids = 0;
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    if (!p) return;
    if ('progress' in data) {
      p.onProgress?.(data.progress);
      return;
    }
    pending.delete(data.id);
    if (data.errors?.length) onErrors(data.errors);
    if (data.size) onSize(data.size);
    if ('error' in data) p.reject(new Error(data.error));
    else p.resolve(data.result);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    for (const p of pending.values()) p.reject(new Error(`the GPU worker stopped: ${e.message}`));
    pending.clear();
  };
  const call = (method, args = [], { transfer = [], onProgress } = {}) => new Promise((resolve, reject) => {
    const id = ++ids;
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, method, args }, transfer);
  });
  const offscreen = canvas.transferControlToOffscreen();
  const { adapter } = await call('open', [offscreen], { transfer: [offscreen] });
  return { call, adapter };
}

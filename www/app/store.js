// The autosave, in IndexedDB, so that a reload (or a lost GPU) can pick the run up again. Two
// records: the run (checkpoint, configuration and chart history), rewritten every few minutes,
// and the dataset it trains on, written once when it changes (by the session worker, which
// holds the pixels).

const DB = 'webgan';
const STORE = 'autosave';
const RUN = 'current';
const DATASET = 'dataset';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function request(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('the autosave was aborted'));
    });
  } finally {
    db.close();
  }
}

// { checkpoint: Uint8Array, step, savedAt, config, history,
//   dataset: { id, name, builtin, preset, found, limit } }
export const saveAutosave = (record) => request('readwrite', (s) => s.put(record, RUN));
export const loadAutosave = () => request('readonly', (s) => s.get(RUN)).catch(() => undefined);
// { id, name, preset, wgds: Uint8Array } (or, for CycleGAN's domains and pix2pix's pairs,
// `domains` or `pairs`: { a, b, heldOutA, heldOutB }): the dataset of the run whose dataset.id is
// `id`.
export const saveDataset = (record) => request('readwrite', (s) => s.put(record, DATASET));
export const loadDataset = () => request('readonly', (s) => s.get(DATASET)).catch(() => undefined);
export const clearAutosave = () => request('readwrite', (s) => { s.delete(DATASET); return s.delete(RUN); });

// The autosave: the latest checkpoint and the dataset it trains on, in IndexedDB, so that a
// reload (or a lost GPU) can pick the run up again.

const DB = 'webgan';
const STORE = 'autosave';
const KEY = 'current';

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

// { checkpoint: Uint8Array, step, savedAt, config, dataset: { name, wgds: Uint8Array | null } }
export const saveAutosave = (record) => request('readwrite', (s) => s.put(record, KEY));
export const loadAutosave = () => request('readonly', (s) => s.get(KEY)).catch(() => undefined);
export const clearAutosave = () => request('readwrite', (s) => s.delete(KEY));

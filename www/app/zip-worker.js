// Reads a dataset zip off the page's thread: a first look to pick a preset, then every image
// decoded and resized in wasm, with progress messages for the page's bar.
import init, { surveyZip, decodeZip } from '../pkg/webgan.js';

const ready = init();

self.onmessage = async ({ data: { id, bytes, preset } }) => {
  try {
    await ready;
    const input = new Uint8Array(bytes);
    const survey = surveyZip(input);
    const chosen = preset ?? survey.preset;
    self.postMessage({ id, survey, preset: chosen });
    const result = decodeZip(input, chosen, (done, total) => self.postMessage({ id, progress: [done, total] }));
    self.postMessage({ id, result, preset: chosen }, [result.dataset.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};

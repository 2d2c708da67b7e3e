// Reads a dataset zip off the page's thread: a first look to pick a preset, then the images
// training will use (no more than one GPU buffer holds, or `maxImages`) decoded and resized in
// wasm, with progress messages for the page's bar.
import init, { surveyZip, decodeZip } from '../pkg/webgan.js';

const ready = init();

self.onmessage = async ({ data: { id, bytes, preset, maxImages } }) => {
  try {
    await ready;
    const input = new Uint8Array(bytes);
    const survey = surveyZip(input);
    const chosen = preset ?? survey.preset;
    self.postMessage({ id, survey, preset: chosen });
    const result = decodeZip(input, chosen, maxImages ?? undefined, (done, total) => self.postMessage({ id, progress: [done, total] }));
    self.postMessage({ id, result, preset: chosen, found: survey.images }, [result.dataset.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};

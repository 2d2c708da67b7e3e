// What a checkpoint holds, read from its safetensors header alone (8 bytes of length, then JSON
// whose __metadata__ webgan fills): { family, step, config }, or null for a file that is not a
// webgan checkpoint (the session then says what is wrong with it).
const MAX_HEADER = 100 << 20;

export function checkpointMeta(bytes) {
  try {
    if (bytes.length < 8) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = Number(view.getBigUint64(0, true));
    if (length > MAX_HEADER || 8 + length > bytes.length) return null;
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))).__metadata__;
    if (!meta?.format) return null;
    // Checkpoints from before there were other families name none: DCGAN's.
    return { family: meta.family ?? 'dcgan', step: Number(meta.step), config: JSON.parse(meta.config ?? 'null') };
  } catch {
    return null;
  }
}

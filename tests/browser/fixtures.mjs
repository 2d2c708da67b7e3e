// Test inputs made on the fly: PNG images (pngjs) and zips of them (stored entries, written here
// so the tests need no zip library).
import { PNG } from 'pngjs';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A zip of [name, bytes] entries, uncompressed.
export function zip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = Buffer.from(data);
    const crc = crc32(body);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(body.length, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, body);
    central.push(header, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

// A size×size PNG whose pixel (x, y) is rgb(x, y).
export function png(size, rgb) {
  return picture(size, size, rgb);
}

// A width×height PNG whose pixel (x, y) is rgb(x, y).
export function picture(width, height, rgb) {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb(x, y);
      image.data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return PNG.sync.write(image);
}

// Two classes of 16×16 gray pictures: bars across, and bars down; plus a text file
// that the page should skip and report.
export function twoClassZip(perClass = 12) {
  const entries = [];
  for (let i = 0; i < perClass; i++) {
    const across = (x, y) => (y % 4 < 2 ? 240 : 20 + i);
    const down = (x, y) => (x % 4 < 2 ? 10 : 120 + i);
    entries.push([`across/${i}.png`, png(16, (x, y) => Array(3).fill(across(x, y)))]);
    entries.push([`down/${i}.png`, png(16, (x, y) => Array(3).fill(down(x, y)))]);
  }
  entries.push(['across/notes.txt', Buffer.from('not an image')]);
  return zip(entries);
}

// Pixels of a PNG (e.g. a screenshot): { width, height, data (RGBA) }.
export function decodePng(bytes) {
  return PNG.sync.read(bytes);
}

// Two unpaired domains as CycleGAN reads them: `perDomain` 16×16 colour pictures in each of
// trainA/ (red bars on light gray) and trainB/ (blue discs), and `heldOut` of each in testA/
// and testB/.
export function unpairedZip(perDomain = 6, heldOut = 2) {
  const bars = (i) => (x, y) => ((x + i) % 8 < 4 ? [200, 40 + i, 30] : [225, 225, 225]);
  const disc = (i) => (x, y) => ((x - 8) ** 2 + (y - 8) ** 2 < 20 + i ? [30, 40, 190 + i] : [240, 240, 200]);
  const entries = [];
  for (const [folder, count] of [['train', perDomain], ['test', heldOut]]) {
    for (let i = 0; i < count; i++) {
      entries.push([`${folder}A/${i}.png`, png(16, bars(i))]);
      entries.push([`${folder}B/${i}.png`, png(16, disc(i))]);
    }
  }
  return zip(entries);
}

// The colours of pairedZip's pictures.
export const PAIR_COLOURS = { outline: [200, 30, 30], heldOutOutline: [30, 160, 30], disc: [30, 40, 200], paper: [250, 250, 250] };

// Pair i of pairedZip at `side` pixels: A the outline of a disc on white (red, or green for a
// held-out pair), B the same disc filled blue; each a function of (x, y).
export function pairPictures(i, side, heldOut = false) {
  const { outline, heldOutOutline, disc, paper } = PAIR_COLOURS;
  const c = side / 2 + (i % 3) - 1;
  const edge = (x, y) => Math.hypot(x - c, y - c) - (side / 4 + i);
  return {
    a: (x, y) => (Math.abs(edge(x, y)) < 1.5 ? (heldOut ? heldOutOutline : outline) : paper),
    b: (x, y) => (edge(x, y) < 0 ? disc : paper),
  };
}

// Pairs as pix2pix reads them (pairPictures), `train` of them and `heldOut` more. `layout`
// 'folders': A/ and B/ folders matched by name (split into A/train and A/val when some are held
// out), with `lone` more A pictures that have no B; 'sideBySide': train/ and val/ pictures twice
// as wide as high, A on the left half and B on the right.
export function pairedZip({ layout = 'folders', train = 4, heldOut = 0, side = 64, lone = 0 } = {}) {
  const entries = [];
  for (const [split, count] of [['train', train], ['val', heldOut]]) {
    for (let i = 0; i < count; i++) {
      const { a, b } = pairPictures(i, side, split === 'val');
      if (layout === 'sideBySide') {
        entries.push([`${split}/${i}.png`, picture(2 * side, side, (x, y) => (x < side ? a(x, y) : b(x - side, y)))]);
      } else {
        const folder = (ab) => (heldOut ? `${ab}/${split}` : ab);
        entries.push([`${folder('A')}/${i}.png`, png(side, a)], [`${folder('B')}/${i}.png`, png(side, b)]);
      }
    }
  }
  for (let i = 0; i < lone; i++) entries.push([`A/lone${i}.png`, png(side, pairPictures(i, side).a)]);
  return zip(entries);
}

// A minimal webgan checkpoint of a DCGAN (its metadata and no tensors): enough for the page to
// learn which family it holds.
export function dcganCheckpointHeader() {
  const adam = { kind: 'adam', lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: 0 };
  const config = {
    preset: 'dcgan28', nz: 8, ngf: 4, ndf: 4, channels: 1, classes: 0, batch: 8, d_steps: 1,
    loss: 'bce', label_smoothing: 0, d_optimizer: adam, g_optimizer: adam, prior: 'normal',
    clip: 0.01, seed: '1', ema: null, augment: 'none',
  };
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'webgan-1', step: '3', config: JSON.stringify(config) } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header]);
}

// Protobuf's wire format, read far enough to check an ONNX file: each field of a message as
// [number, value], a varint as a Number and a length-delimited field as its bytes.
function fields(bytes) {
  const out = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const [number, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) out.push([number, varint()]);
    else if (wire === 2) {
      const length = varint();
      out.push([number, bytes.subarray(at, at + length)]);
      at += length;
    } else if (wire === 5) at += 4;
    else if (wire === 1) at += 8;
    else throw new Error(`wire type ${wire} at byte ${at}`);
  }
  return out;
}

// What an ONNX model (onnx.proto's ModelProto) says of itself: its IR version, operator sets,
// graph inputs and outputs by name, node count and metadata.
export function onnxSummary(bytes) {
  const text = (b) => Buffer.from(b).toString('utf8');
  const all = (list, n) => list.filter(([k]) => k === n).map(([, v]) => v);
  const one = (list, n) => all(list, n)[0];
  const model = fields(bytes);
  const graph = fields(one(model, 7));
  return {
    irVersion: one(model, 1),
    producer: text(one(model, 2)),
    opsets: all(model, 8).map((b) => ({ domain: text(one(fields(b), 1) ?? []), version: one(fields(b), 2) })),
    inputs: all(graph, 11).map((b) => text(one(fields(b), 1))),
    outputs: all(graph, 12).map((b) => text(one(fields(b), 1))),
    nodes: all(graph, 1).length,
    metadata: Object.fromEntries(all(model, 14).map((b) => [text(one(fields(b), 1)), text(one(fields(b), 2))])),
  };
}

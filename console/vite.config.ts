import { defineConfig } from 'vite';

// Served by every controller at /console/ (controller/src/admin-api/console-routes.ts):
// content-hashed files under assets/, no inline script (the page's Content-Security-Policy forbids it).
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, modulePreload: { polyfill: false }, reportCompressedSize: false },
});

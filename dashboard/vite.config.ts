// The dashboard's build: Preact through Vite's own JSX transform (no Babel), one small bundle with
// relative URLs, so the same files serve from the local stack and from CloudFront.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../.local/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    // Every browser we serve supports module preload; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
});

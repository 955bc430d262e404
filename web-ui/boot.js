// Starts the app. A file rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
//
// Two builds of the app: simd/ with WebAssembly SIMD, where the model reads
// a drawing about twice as fast (every current browser), and the plain one.
// The smallest module with a SIMD instruction tells which this browser runs.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
const folder = WebAssembly.validate(SIMD_PROBE) ? "./simd/" : "./";
import(`${folder}digits-web-ui.js`).then(({ default: init }) =>
  init({ module_or_path: new URL(`${folder}digits-web-ui_bg.wasm`, import.meta.url) }),
);

// Starts the app. A file rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
import init from "./digits-web-ui.js";

init({ module_or_path: "./digits-web-ui_bg.wasm" });

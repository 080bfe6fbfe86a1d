/**
 * The DOM miniprogram-simulate renders into: jest's jsdom environment when the test runs in it, else a jsdom
 * installed on the global object (jsdom is then needed: an optional peer dependency, named when missing).
 */

/** Installs jsdom's window on the global object unless a DOM is there already. */
export function installDom(): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.document === 'object' && g.document) return;
  let JSDOM: new (html: string, options: object) => { window: Record<string, unknown> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ JSDOM } = require('jsdom'));
  } catch {
    throw new Error(
      'miniprogram-login-kit/testing: launchApp needs a DOM: run the test in jest\'s jsdom environment (testEnvironment: "jsdom"), or install jsdom (npm install --save-dev jsdom)',
    );
  }
  const { window } = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
    pretendToBeVisual: true,
    url: 'http://localhost/',
  });
  for (const key of Object.getOwnPropertyNames(window)) {
    if (key in g || key === 'undefined') continue;
    try {
      g[key] = window[key];
    } catch {
      // a read-only global of Node's
    }
  }
  g.window = window;
  g.document = window.document;
  // Node has Event/EventTarget of its own; miniprogram-simulate's events must be jsdom's.
  for (const name of ['Event', 'EventTarget', 'CustomEvent']) g[name] = window[name];
}

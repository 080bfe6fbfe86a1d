/**
 * DOM globals for running miniprogram-simulate outside jest's jsdom environment (the headless demo, usage tests).
 * Import it before anything loads miniprogram-simulate.
 */
import 'global-jsdom/register';

// Node 20 has its own Event/EventTarget; global-jsdom keeps existing globals, but miniprogram-simulate's events must
// be jsdom's.
for (const name of ['Event', 'EventTarget', 'CustomEvent'] as const) {
  (globalThis as Record<string, unknown>)[name] = (window as unknown as Record<string, unknown>)[name];
}

import type { startTui as StartTui } from './run-tui';

/**
 * Loads the TUI for a real terminal. Ink decides once, when it is first imported, whether it runs
 * under CI (the `CI` or `CONTINUOUS_INTEGRATION` variable), and then draws only the last frame when
 * the app exits. A person at a terminal must see every frame even if their shell exports `CI`, so the
 * terminal wins: the variables are cleared before Ink loads. Callers have checked stdout is a TTY.
 */
export async function loadTui(): Promise<typeof StartTui> {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { startTui } = await import('./run-tui');
  return startTui;
}

import { render } from 'ink';
import type { ReadStream, WriteStream } from 'node:tty';
import { App } from './app';
import { themeFromEnv } from './theme';
import { DbDataSource } from './tui-data';

/** Redraws per second at most: enough to look live, cheap over SSH. */
export const MAX_FPS = 30;

export interface StartTuiOptions {
  db: string;
  /** Key logs to decrypt conversations with (besides the captures' own secrets). */
  keyLogFiles?: readonly string[];
  onQuit?: () => void;
  stdin?: NodeJS.ReadStream | ReadStream;
  stdout?: NodeJS.WriteStream | WriteStream;
  refreshMs?: number;
}

/** Mounts the dashboard on the terminal; `done` resolves when the user quits or `stop()` is called. */
export function startTui(opts: StartTuiOptions): { done: Promise<void>; stop: () => Promise<void> } {
  const data = new DbDataSource(opts.db, '.', opts.keyLogFiles ?? []);
  const stdout = opts.stdout ?? process.stdout;
  // Alternate screen: the shell's scrollback is left as it was when the dashboard closes.
  stdout.write('\u001b[?1049h');
  const instance = render(<App data={data} theme={themeFromEnv()} refreshMs={opts.refreshMs} onQuit={opts.onQuit} />, {
    stdin: opts.stdin ?? process.stdin,
    stdout,
    exitOnCtrlC: false,
    patchConsole: true,
    maxFps: MAX_FPS,
  });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    data.close();
    stdout.write('\u001b[?1049l');
  };
  const done = instance.waitUntilExit().then(close, close);
  return {
    done,
    stop: async () => {
      instance.unmount();
      await done;
    },
  };
}

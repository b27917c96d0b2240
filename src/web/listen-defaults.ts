/**
 * Where the dashboard listens unless told otherwise. Kept apart from the server so that the command
 * line can show them without loading the web stack: only `serve` and `demo` load it, when they run.
 */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8765;

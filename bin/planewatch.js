#!/usr/bin/env node
// Entry point. Runs the bundle that `npm ci` builds into dist/ (`npm run build`) when it is newer than
// every source file; otherwise loads the TypeScript sources through tsx, so a fresh edit runs without
// a build step. The bundle starts in a fraction of the time: tsx resolves and compiles each module
// through a loader thread on every start.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = new URL('../dist/planewatch.js', import.meta.url);

/** Newest modification time among the files the bundle is built from (0 if none can be read). */
function newestSource() {
  let newest = 0;
  for (const name of ['package.json', 'tsconfig.json']) newest = Math.max(newest, mtime(root + name));
  for (const dir of ['src', 'dissectors']) {
    let entries = [];
    try {
      entries = readdirSync(root + dir, { recursive: true, withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isFile()) newest = Math.max(newest, mtime(`${e.parentPath ?? e.path}/${e.name}`));
  }
  return newest;
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

const built = mtime(fileURLToPath(bundle));
if (process.env.PLANEWATCH_FROM_SOURCE !== '1' && built > 0 && built >= newestSource()) {
  await import(bundle.href);
} else {
  // The project's tsconfig is named explicitly: tsx would otherwise look for one in the directory the
  // user runs planewatch from, and compile the TUI's JSX for the wrong runtime.
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  await import('../src/cli/main.ts');
}

#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx so a fresh clone runs without a build step.
// The project's tsconfig is named explicitly: tsx would otherwise look for one in the directory the
// user runs planewatch from, and compile the TUI's JSX for the wrong runtime.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/main.ts');

// Entry of the analysis thread when planewatch runs from its TypeScript sources (through tsx, as
// bin/planewatch.js does without a fresh build): the thread compiles them too. The bundle in dist/
// starts dist/analysis-worker.js instead.
import { fileURLToPath } from 'node:url';

const { register } = await import('tsx/esm/api');
register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./analysis-worker.ts');

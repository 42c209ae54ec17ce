#!/usr/bin/env -S node --max-old-space-size=256
// Runs the TypeScript sources through tsx's loader: `npx chat-connector …` works right after
// `npm install`, with no build step to forget.
// The heap cap keeps a long-running connector's memory near its live set (~180 MB under a
// 100 000-message backlog): V8 otherwise lets garbage grow towards a limit sized by the
// machine's RAM. Override with NODE_OPTIONS=--max-old-space-size=N.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const root = dirname(dirname(fileURLToPath(import.meta.url)));
await import(join(root, 'src', 'cli', 'main.ts'));

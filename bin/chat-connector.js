#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=4
// Runs the TypeScript sources through tsx's loader: `npx chat-connector …` works right after
// `npm install`, with no build step to forget.
// The heap caps keep a long-running connector's memory near its live set (~145 MB under a
// 100 000-message backlog): V8 otherwise lets garbage grow towards a limit sized by the
// machine's RAM, and gives the young generation 2 × 16 MB that a queue worker's short-lived
// batches fill (about 25 MB more RSS for a few % less CPU). The same flags are in
// package.json's `start` and the systemd units. Override with NODE_OPTIONS=--max-old-space-size=N
// and --max-semi-space-size=N.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const root = dirname(dirname(fileURLToPath(import.meta.url)));
await import(join(root, 'src', 'cli', 'main.ts'));

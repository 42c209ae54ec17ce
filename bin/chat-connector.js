#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader: `npx chat-connector …` works right after
// `npm install`, with no build step to forget.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const root = dirname(dirname(fileURLToPath(import.meta.url)));
await import(join(root, 'src', 'cli', 'main.ts'));

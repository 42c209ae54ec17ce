// Thin entry point: one kind of worker only (see `chat-connector worker http`).
import { configOrExit } from '../src/cli/config-or-exit.ts';
import { runWorker } from '../src/cli/start-command.ts';

process.exitCode = await runWorker(configOrExit('start'), ['http']);

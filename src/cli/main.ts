/**
 * `chat-connector` — the one binary. Each command loads what it needs; configuration
 * problems are printed one line per problem, never as a stack trace.
 */
import { describeError } from '../core/index.ts';
import { configOrExit } from './config-or-exit.ts';

const HELP = `chat-connector — Telegram and WhatsApp to 1C:Enterprise through Redis queues

Usage: chat-connector <command> [options]

  start                         the whole connector in one process
  worker <name>                 one kind of worker only: inbound | outbound | statuses | routing | channels
  demo                          the whole pipeline on this machine with emulators (no accounts needed)
  onec-emulator [options]       the bundled 1C HTTP service emulator alone (--help for options)
  doctor                        check configuration, Redis, 1C, the license and each account
  onec-check [--url U --user U --password P] [--json]
                                check that a 1C publication keeps the HTTP service contract
  license host-id|verify|report
  queues stats|failed|retry|remove
  whatsapp pair <account> [--phone N]
  telegram login <account>      log a Telegram user account (TDLib) in: phone, code, password

Every listing takes --json. Configuration comes from the environment or ./.env (see .env.example).`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start': {
      // Configuration first: a bad value is reported before anything heavy loads.
      const config = configOrExit('start');
      const { runStart } = await import('./start-command.ts');
      return runStart(config);
    }
    case 'worker': {
      const config = configOrExit('start');
      const { runWorker } = await import('./start-command.ts');
      return runWorker(config, rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo-command.ts');
      return runDemo(rest);
    }
    case 'onec-emulator': {
      const { runOnecEmulatorCli } = await import('../onec/emulator/index.ts');
      await runOnecEmulatorCli(rest);
      return 0;
    }
    case 'doctor': {
      const { runDoctor } = await import('./doctor-command.ts');
      return runDoctor(rest);
    }
    case 'onec-check': {
      const { runOnecCheckCommand } = await import('./onec-check-command.ts');
      return runOnecCheckCommand(rest);
    }
    case 'license': {
      const cfg = configOrExit('cli');
      const { runLicenseCommand } = await import('./license-command.ts');
      return runLicenseCommand(rest, {
        license: cfg.license,
        redisUrl: cfg.redisUrl,
        queuePrefix: cfg.queuePrefix,
        seatTtlS: cfg.seatTtlS,
        out: (l) => process.stdout.write(`${l}\n`),
        err: (l) => process.stderr.write(`${l}\n`),
      });
    }
    case 'queues': {
      const cfg = configOrExit('cli');
      const { runQueuesCommand } = await import('./queues-command.ts');
      return runQueuesCommand(rest, cfg);
    }
    case 'whatsapp': {
      const cfg = configOrExit('cli');
      const { runWhatsappCli } = await import('./whatsapp-cli.ts');
      return runWhatsappCli(rest, cfg);
    }
    case 'telegram': {
      const cfg = configOrExit('cli');
      const { runTelegramCli } = await import('./telegram-cli.ts');
      return runTelegramCli(rest, cfg);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${cmd}". Run "chat-connector help" for the list.\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  },
  (err: unknown) => {
    // One sentence, no stack: the error classes of this product carry human messages.
    process.stderr.write(`chat-connector: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);

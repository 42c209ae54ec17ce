export { OnecEmulator } from './onec-emulator.ts';
export { runOnecEmulatorCli } from './emulator-cli.ts';
export * from './emulator-types.ts';

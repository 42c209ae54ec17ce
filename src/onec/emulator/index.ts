export { OnecEmulator } from './onec-emulator.ts';
export { runOnecEmulatorCli } from './emulator-cli.ts';
export * from './emulator-types.ts';
export { CONTRACT_FAULTS, CONTRACT_FAULT_NAMES, isContractFault, type ContractFault } from './emulator-contract-faults.ts';
export { EmulatorPullPoller, type EmulatorPullPollerOptions } from './emulator-pull-poller.ts';
export type { ItemResult } from './emulator-store.ts';

/** The local Zerobus emulator (SPEC §6). */
export { startEmulator, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, DEFAULT_HOST } from './emulator';
export type { Emulator, EmulatorOptions, EmulatorStats } from './emulator';
export type { FaultControls } from './faults';

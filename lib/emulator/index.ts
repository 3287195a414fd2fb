/** The local Zerobus emulator (docs/DESIGN.md §6). */
export { startEmulator, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, DEFAULT_HOST } from './emulator';
export type { Emulator, EmulatorOptions, EmulatorStats, StreamFigures } from './emulator';
export { DEFAULT_QUOTA } from './quota';
export type { OverQuota, QuotaLimits, ThrottleFigures } from './quota';
export type { FaultControls } from './faults';

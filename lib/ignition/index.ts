/** The Ignition receiver: HTTP handling of tag-event batches, independent of Node-RED. */
export * from './limits';
export * from './content-type';
export * from './body';
export * from './tolerant-json';
export * from './shape';
export * from './dedup';
export { dedupKey } from './dedup-key';
export * from './api-key';
export * from './diagnostics';
export * from './config-route';
export * from './request-source';
export * from './readiness';
export * from './receiver';
export * from './route-registry';
export * from './deploy-handover';
export * from './cors';
export * from './h2c';

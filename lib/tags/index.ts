/** Tag events: the event model, quality codes, normalisation and the OT event row. */
export * from './event';
export * from './quality';

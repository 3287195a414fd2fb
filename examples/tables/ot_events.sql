-- The default OT events (bronze) table that zerobus-out writes with format "ot-event".
-- Run it in a Databricks SQL editor, then grant the service principal:
--   GRANT USE CATALOG ON CATALOG main TO `<sp-application-id>`;
--   GRANT USE SCHEMA ON SCHEMA main.ot TO `<sp-application-id>`;
--   GRANT SELECT, MODIFY ON TABLE main.ot.tag_events TO `<sp-application-id>`;
CREATE TABLE IF NOT EXISTS main.ot.tag_events (
  event_id            STRING    NOT NULL COMMENT 'Deterministic UUID: the same event always gets the same id',
  event_time          TIMESTAMP NOT NULL COMMENT 'When the value was sampled at the source',
  tag_path            STRING    NOT NULL COMMENT 'Full Ignition tag path, e.g. [default]Line1/Speed',
  tag_provider        STRING             COMMENT 'Ignition tag provider',
  numeric_value       DOUBLE             COMMENT 'Numeric values',
  string_value        STRING             COMMENT 'Strings; arrays and objects as JSON text',
  boolean_value       BOOLEAN            COMMENT 'Boolean values',
  quality             STRING             COMMENT 'Quality name, e.g. Good, Bad_Stale',
  quality_code        INT                COMMENT 'Ignition quality code',
  source_system       STRING             COMMENT 'Gateway or edge system that produced the event',
  ingestion_timestamp BIGINT    NOT NULL COMMENT 'Microseconds since epoch when zerobus-out accepted the event',
  data_type           STRING             COMMENT 'Ignition data type',
  alarm_state         STRING,
  alarm_priority      INT
) USING DELTA;

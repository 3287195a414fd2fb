-- The silver table: one row per event_id, made from the bronze table that zerobus-out fills
-- (ot_events.sql). Node-RED delivers at least once: after a crash, a failover between
-- instances behind a load balancer, or a resend that reached another instance, the same event
-- can land in bronze more than once, always with the same event_id and the same content.
-- This Lakeflow Declarative Pipeline closes that gap in Databricks (docs/SCALING.md).
--
-- Use: create a Lakeflow Declarative Pipeline with this file as its source code, default
-- catalog `main` and schema `ot`, and run it triggered or continuous. The pipeline's owner
-- needs SELECT on main.ot.tag_events. Queries and dashboards read main.ot.ot_events_silver.
--
-- AUTO CDC keeps one row per key; with SCD type 1 a later copy of an event overwrites the
-- earlier one, which is harmless because copies differ only in ingestion_timestamp. Bronze is
-- append-only (Zerobus only inserts), which a streaming read of it requires.

CREATE OR REFRESH STREAMING TABLE ot_events_silver (
  event_id            STRING    NOT NULL,
  event_time          TIMESTAMP NOT NULL,
  tag_path            STRING    NOT NULL,
  tag_provider        STRING,
  numeric_value       DOUBLE,
  string_value        STRING,
  boolean_value       BOOLEAN,
  quality             STRING,
  quality_code        INT,
  source_system       STRING,
  ingestion_timestamp BIGINT    NOT NULL,
  data_type           STRING,
  alarm_state         STRING,
  alarm_priority      INT
)
COMMENT 'OT tag events, one row per event_id (deduplicated from main.ot.tag_events)'
CLUSTER BY (tag_path, event_time);

CREATE FLOW ot_events_silver_dedup AS AUTO CDC INTO ot_events_silver
FROM STREAM(main.ot.tag_events)
KEYS (event_id)
SEQUENCE BY ingestion_timestamp
STORED AS SCD TYPE 1;

-- A custom table for example 03 (MQTT JSON + transform -> custom table, format "rows").
CREATE TABLE IF NOT EXISTS main.ot.energy_readings (
  meter_id        STRING    NOT NULL COMMENT 'Energy meter id, e.g. EM-01',
  reading_time    TIMESTAMP NOT NULL COMMENT 'When the meter took the reading',
  active_power_kw DOUBLE             COMMENT 'Instantaneous active power',
  energy_kwh      DOUBLE             COMMENT 'Cumulative energy counter',
  voltage_v       DOUBLE             COMMENT 'Line voltage',
  site            STRING             COMMENT 'Plant or site name'
) USING DELTA;

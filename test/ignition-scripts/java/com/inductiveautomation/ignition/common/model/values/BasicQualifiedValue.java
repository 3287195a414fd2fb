package com.inductiveautomation.ignition.common.model.values;

import java.util.Date;

/**
 * Ignition's QualifiedValue (value, quality, timestamp). The value is a boxed Java object, so
 * Jython converts it exactly as on a gateway: Integer/Short/Byte become int, Long long,
 * Float/Double float, Boolean bool, String unicode; a Date stays java.util.Date, an array a
 * Jython 'array'.
 */
public final class BasicQualifiedValue {
    private final Object value;
    private final QualityCode quality;
    private final Date timestamp;

    public BasicQualifiedValue(Object value, QualityCode quality, Date timestamp) {
        this.value = value;
        this.quality = quality;
        this.timestamp = timestamp;
    }

    public Object getValue() { return value; }
    public QualityCode getQuality() { return quality; }
    public Date getTimestamp() { return timestamp; }

    @Override
    public String toString() {
        return "[" + value + ", " + quality + ", " + timestamp + "]";
    }
}

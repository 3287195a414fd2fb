package com.inductiveautomation.ignition.common.tags.model.event;

import com.inductiveautomation.ignition.common.model.values.BasicQualifiedValue;
import com.inductiveautomation.ignition.common.tags.model.BasicTagPath;

/** The `event` of a Gateway Tag Change script: getTagPath(), getValue(), isInitial(). */
public final class TagChangeEvent {
    private final BasicTagPath tagPath;
    private final BasicQualifiedValue value;
    private final boolean initial;

    public TagChangeEvent(BasicTagPath tagPath, BasicQualifiedValue value, boolean initial) {
        this.tagPath = tagPath;
        this.value = value;
        this.initial = initial;
    }

    public BasicTagPath getTagPath() { return tagPath; }
    public BasicQualifiedValue getValue() { return value; }
    public boolean isInitial() { return initial; }
}

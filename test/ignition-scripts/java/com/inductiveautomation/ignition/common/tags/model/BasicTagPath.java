package com.inductiveautomation.ignition.common.tags.model;

/** A tag path: str() gives "[provider]Folder/Tag"; getSource() the provider; getItemName() the tag. */
public final class BasicTagPath {
    private final String source;
    private final String path;

    public BasicTagPath(String source, String path) {
        this.source = source;
        this.path = path;
    }

    public String getSource() { return source; }
    public String getItemName() { return path.substring(path.lastIndexOf('/') + 1); }

    @Override
    public String toString() { return "[" + source + "]" + path; }
}

package com.inductiveautomation.ignition.common.model.values;

/**
 * Ignition 8's QualityCode as its SDK javadoc and the "Quality Codes and Overlays" page describe
 * it: a 32-bit code (level in the two top bits, subcode below), getCode(), getName(), isGood(),
 * toString() = the name, plus ("diagnostic") when one is attached. There is NO getIntValue():
 * that was Ignition 7's DataQuality.
 */
public final class QualityCode {
    private final int code;
    private final String name;
    private final String diagnostic;

    public QualityCode(int code, String name, String diagnostic) {
        this.code = code;
        this.name = name;
        this.diagnostic = diagnostic;
    }

    public int getCode() { return code; }
    public String getName() { return name; }
    public boolean isGood() { return (code >>> 30) == 0; }
    public boolean isBad() { return (code >>> 30) == 2; }
    public boolean isError() { return (code >>> 30) == 3; }
    public boolean isUncertain() { return (code >>> 30) == 1; }

    @Override
    public String toString() {
        return diagnostic == null ? name : name + "(\"" + diagnostic + "\")";
    }
}

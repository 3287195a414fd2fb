# system.tag: only readBlocking, for the [System] provider's gateway name.
from java.util import Date
from com.inductiveautomation.ignition.common.model.values import BasicQualifiedValue, QualityCode

# ASSUMPTION: the gateway's name is the tag [System]Gateway/SystemName (System tag provider,
# Ignition 8) and readBlocking(paths) returns one QualifiedValue per path, in order.
tags = {"[System]Gateway/SystemName": "Ignition-Stub-Gateway"}

_GOOD = QualityCode(192, "Good", None)
_NOT_FOUND = QualityCode(-2147483129, "Bad_NotFound", None)


def readBlocking(tagPaths, timeout=45000):
    out = []
    for p in tagPaths:
        if p in tags:
            out.append(BasicQualifiedValue(tags[p], _GOOD, Date()))
        else:
            out.append(BasicQualifiedValue(None, _NOT_FOUND, Date()))
    return out

# =============================================================================================
# Ignition 8.3 Event Streams -> Node-RED zerobus-ignition-in: Script handler (Jython 2.7)
#
# WHERE TO PASTE
#   Designer > Project Browser > Event Streams > new Event Stream:
#     Source:   Tag Event (list the tags or folders to stream; tick "skip initial values" if
#               the value every tag reports at start is not wanted)
#     Encoder:  pass-through, so that event.data is the tag's QualifiedValue (the only encoder
#               this script reads; with another one every call raises and names the encoder)
#     Buffer:   e.g. debounce 100 ms, max wait 1000 ms, max queue size 10000
#     Handler:  Script -> paste this whole file into the handler's script. Set the handler's
#               failure strategy to RETRY (e.g. retry forever with a few seconds of delay):
#               a raised exception then makes Event Streams deliver the same events again.
#   Set URL (and API_KEY if the ignition in node has one) below; nothing else needs changing.
#   Success shows in the gateway log as "INFO EventStreams.Zerobus Sent 120 events to Zerobus".
#
# WHAT IS DIFFERENT FROM THE ORIGINAL GUIDE, AND WHY
#   - Tag Event metadata has `tagPath` but no `provider` key (str() of the missing value gave
#     "None"): the provider is taken from the "[provider]" prefix of the path.
#   - Ignition 8's QualityCode has getCode(); getIntValue() was Ignition 7's DataQuality. Both
#     are read with a guard: a missing method never costs an event.
#   - system.net.httpPost is deprecated in 8.3 and returns only the body: this uses
#     system.net.httpClient() and reads the real statusCode. It asks for HTTP/1.1: the default
#     HTTP/2 offers "Upgrade: h2c" on every http:// request (the node answers either way; an
#     https:// URL works too).
#   - It posts to Node-RED's host and port, not to the gateway's localhost:8088.
#   - Each event carries sourceSystem: the gateway's system name, so that one Node-RED can
#     receive from many gateways (set SOURCE_SYSTEM below to override it).
#   - A failure that resending can fix (503, other 5xx, 404 while Node-RED starts its flows,
#     401 until the key is fixed, network errors) raises, so the handler's retry policy sends
#     the events again; the node drops the repeats of what it already stored. 413 splits the
#     events into smaller requests (by the limit the node names, or by half) and that size stays
#     learned. A 400 or 415 (the data itself is wrong) is logged and not raised: retrying could
#     never succeed.
#   - Log lines use the guide's logger name (EventStreams.Zerobus): a success line at INFO per
#     request, errors when events are dropped.
#
# PAYLOAD: a JSON array of events, exactly
#   {"tagPath": "[default]Line1/Speed", "tagProvider": "default", "value": 12.5,
#    "quality": "Good", "qualityCode": 192, "timestamp": 1765456245123, "dataType": "float",
#    "sourceSystem": "Ignition-Plant1"}
# =============================================================================================
import system
from java.lang import System as JavaSystem
from java.util import Date

URL = "http://node-red.example.local:1880/system/zerobus/ingest/batch"
API_KEY = None            # e.g. "change-me" when the ignition in node has an API key
SOURCE_SYSTEM = None      # None: the gateway's system name; or a name of your own, e.g. "plant-1"
BATCH_BYTES = 1000000     # bytes per POST at most (below the node's Max body; lowered after a 413)
CONNECT_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 30000   # longer than the node's durable timeout (10 s by default)
RETRYABLE = (401, 404)    # plus every 5xx and network errors

_GLOBALS_KEY = "zerobus.eventstream.2"
logger = system.util.getLogger("EventStreams.Zerobus")


def _shared():
    """The HTTP client and what a 413 taught, kept across calls and saves."""
    g = system.util.getGlobals()
    st = g.get(_GLOBALS_KEY)
    if st is None:
        st = g.setdefault(_GLOBALS_KEY, {"client": None, "maxBytes": BATCH_BYTES, "maxEvents": None, "source": []})
    if st["client"] is None:
        st["client"] = system.net.httpClient(timeout=CONNECT_TIMEOUT_MS, version="HTTP_1_1")
    return st


def _provider(path):
    if path.startswith("[") and "]" in path:
        return path[1:path.index("]")]
    return "default"


def _source_system(st):
    """SOURCE_SYSTEM, else the gateway's name (read once); None if unreadable."""
    if SOURCE_SYSTEM is not None:
        return SOURCE_SYSTEM
    if not st["source"]:
        name = None
        try:
            qv = system.tag.readBlocking(["[System]Gateway/SystemName"])[0]
            name = qv.value if qv.quality.isGood() else None
        except:
            logger.warn("zerobus: could not read [System]Gateway/SystemName; set SOURCE_SYSTEM")
        st["source"].append(unicode(name) if name else None)
    return st["source"][0]


def _quality_code(quality):
    for method in ("getCode", "getIntValue"):   # Ignition 8 QualityCode; Ignition 7 DataQuality
        if hasattr(quality, method):
            try:
                return int(getattr(quality, method)())
            except:
                pass
    return None


def _event(event, source):
    path = str(event.metadata["tagPath"])
    data = event.data
    if not hasattr(data, "quality") or not hasattr(data, "value"):
        raise Exception("zerobus: event.data is a %s, not a QualifiedValue: set the stream's Encoder to pass-through" % type(data).__name__)
    value = data.value
    data_type = type(value).__name__
    if isinstance(value, Date):
        value = value.getTime()
    elif data_type == "array":
        value = list(value)
    elif value is not None and not isinstance(value, (bool, int, long, float, basestring)):
        value = unicode(value)
    ts = data.timestamp
    out = {
        "tagPath": path,
        "tagProvider": _provider(path),
        "value": value,
        "quality": str(data.quality) if data.quality is not None else "Good",
        "timestamp": long(ts.getTime()) if isinstance(ts, Date) else long(JavaSystem.currentTimeMillis()),
        "dataType": data_type,
    }
    code = _quality_code(data.quality)
    if code is not None:
        out["qualityCode"] = code
    if source:
        out["sourceSystem"] = source
    return out


def _chunks(texts, st):
    """The encoded events in requests of at most maxBytes (and maxEvents once a 413 named one)."""
    chunk, size = [], 2
    for t in texts:
        n = len(t.encode("utf-8")) + 1
        if chunk and (size + n > st["maxBytes"] or (st["maxEvents"] and len(chunk) >= st["maxEvents"])):
            yield chunk
            chunk, size = [], 2
        chunk.append(t)
        size += n
    if chunk:
        yield chunk


def _learn_limit(st, resp, size, count):
    answer = None
    try:
        answer = resp.json
    except:
        pass
    limit = answer.get("limit") if hasattr(answer, "get") else None
    error = answer.get("error") if hasattr(answer, "get") else None
    if error == "too_many_events" and limit:
        st["maxEvents"] = max(1, min(int(limit), count - 1))
    elif error == "payload_too_large" and limit:
        st["maxBytes"] = max(1, min(int(limit) * 9 // 10, size - 1))
    else:
        st["maxBytes"] = max(1, size // 2)


def _send(st, texts):
    """Posts the events; raises when the handler's retry can help. Returns once all are settled."""
    headers = {"Content-Type": "application/json"}
    if API_KEY:
        headers["Authorization"] = "Bearer " + API_KEY
    pending = list(_chunks(texts, st))
    while pending:
        chunk = pending.pop(0)
        body = "[" + ",".join(chunk) + "]"
        # network errors raise out of here on purpose: the handler's retry policy resends
        resp = st["client"].post(URL, data=body, headers=headers, timeout=READ_TIMEOUT_MS)
        status = resp.statusCode
        if status == 200:
            logger.info("Sent %d events to Zerobus" % len(chunk))
            result = resp.json
            if result and result.get("rejected"):
                logger.warn("zerobus: %s of %d events rejected: %s" % (result.get("rejected"), len(chunk), str(result.get("errors"))[:500]))
            continue
        if status == 413 and len(chunk) > 1:
            _learn_limit(st, resp, len(body.encode("utf-8")), len(chunk))
            pending[:0] = list(_chunks(chunk, st))
            continue
        if status >= 500 or status in RETRYABLE:
            raise Exception("zerobus receiver answered HTTP %d, events will be sent again" % status)
        logger.error("zerobus: %d events dropped, HTTP %d: %s" % (len(chunk), status, resp.text[:500]))


def onEventsReceived(events, state):
    st = _shared()
    source = _source_system(st)
    texts = [system.util.jsonEncode(_event(e, source)) for e in events]
    if texts:
        _send(st, texts)

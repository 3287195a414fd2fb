# =============================================================================================
# Ignition 8.3 Event Streams -> Node-RED zerobus-ignition-in: Script handler (Jython 2.7)
#
# WHERE TO PASTE
#   Designer > Project Browser > Event Streams > new Event Stream:
#     Source:   Tag Event (list the tags or folders to stream; tick "skip initial values" if
#               the value every tag reports at start is not wanted)
#     Encoder:  pass-through (so that event.data is the tag's QualifiedValue); the code below
#               also copes with the JSON Object encoder (event.data is then a dictionary)
#     Buffer:   e.g. debounce 100 ms, max wait 1000 ms, max queue size 10000
#     Handler:  Script -> paste this whole file into the handler's script. Set the handler's
#               failure strategy to RETRY (e.g. retry forever with a few seconds of delay):
#               a raised exception then makes Event Streams deliver the same events again.
#   Set URL (and API_KEY if the ignition in node has one) below.
#
# WHAT IS DIFFERENT FROM THE ORIGINAL GUIDE, AND WHY
#   - Tag Event metadata has `tagPath` but no `provider` key (str() of the missing value gave
#     "None"): the provider is taken from the "[provider]" prefix of the path.
#   - system.net.httpPost is deprecated in 8.3 and returns only the body: this uses
#     system.net.httpClient() and reads the real statusCode.
#   - It posts to Node-RED's host and port, not to the gateway's localhost:8088.
#   - A failure that resending can fix (503, other 5xx, 404 while Node-RED starts its flows,
#     401, network errors) raises, so the handler's retry policy sends the events again. A 400
#     (the data itself is wrong) is logged and not raised: retrying could never succeed.
#
# PAYLOAD: a JSON array of events, exactly
#   {"tagPath": "[default]Line1/Speed", "tagProvider": "default", "value": 12.5,
#    "quality": "Good", "qualityCode": 192, "timestamp": 1765456245123, "dataType": "float"}
# =============================================================================================
import system
from java.util import Date

URL = "http://node-red.example.local:1880/system/zerobus/ingest/batch"
API_KEY = None            # e.g. "change-me" when the ignition in node has an API key
CONNECT_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 30000   # longer than the node's durable timeout (10 s by default)
RETRYABLE = (401, 404)    # plus every 5xx and network errors

logger = system.util.getLogger("zerobus-eventstream")


def _client():
    g = system.util.getGlobals()
    c = g.get("zerobus.eventstream.client")
    if c is None:
        c = system.net.httpClient(timeout=CONNECT_TIMEOUT_MS)
        g["zerobus.eventstream.client"] = c
    return c


def _provider(path):
    if path.startswith("[") and "]" in path:
        return path[1:path.index("]")]
    return "default"


def _field(data, name):
    """event.data is a QualifiedValue (pass-through encoder) or a dict (JSON Object encoder)."""
    if isinstance(data, dict):
        return data.get(name)
    return getattr(data, name, None)


def _event(event):
    path = str(event.metadata["tagPath"])
    data = event.data
    value = _field(data, "value")
    quality = _field(data, "quality")
    ts = _field(data, "timestamp")
    data_type = type(value).__name__
    if isinstance(value, Date):
        value = value.getTime()
    elif data_type == "array":
        value = list(value)
    out = {
        "tagPath": path,
        "tagProvider": _provider(path),
        "value": value,
        "quality": str(quality) if quality is not None else "Good",
        "timestamp": long(ts.getTime()) if isinstance(ts, Date) else ts,
        "dataType": data_type,
    }
    if hasattr(quality, "getIntValue"):
        out["qualityCode"] = int(quality.getIntValue())
    return out


def onEventsReceived(events, state):
    batch = [_event(e) for e in events]
    if not batch:
        return
    headers = {"Content-Type": "application/json"}
    if API_KEY:
        headers["Authorization"] = "Bearer " + API_KEY
    body = system.util.jsonEncode(batch)
    # network errors raise out of here on purpose: the handler's retry policy resends
    resp = _client().post(URL, data=body, headers=headers, timeout=READ_TIMEOUT_MS)
    status = resp.statusCode
    if status == 200:
        result = resp.json
        if result and result.get("rejected"):
            logger.warn("zerobus: %s of %d events rejected: %s" % (result.get("rejected"), len(batch), str(result.get("errors"))[:500]))
        return
    if status >= 500 or status in RETRYABLE:
        raise Exception("zerobus receiver answered HTTP %d, events will be sent again" % status)
    logger.error("zerobus: %d events dropped, HTTP %d: %s" % (len(batch), status, resp.text[:500]))

# =============================================================================================
# Ignition 8.1 / 8.2 -> Node-RED zerobus-ignition-in: Gateway Tag Change Script (Jython 2.7)
#
# WHERE TO PASTE
#   1. Designer > Project Browser > Scripting > Project Library: create a script named
#      "zerobus" and paste PART 1 (everything down to "END OF PART 1") into it.
#   2. Designer > Project > Gateway Events > Tag Change: add a script, list the tags (or
#      folders) to stream under "Tag Paths", and paste PART 2 into its script body.
#   3. Gateway Events > Timer: add a script, "Fixed Delay", 1000 ms, "Dedicated" thread,
#      and paste PART 3. It sends whatever waits for longer than MAX_WAIT_MS.
#   4. Gateway Events > Shutdown: paste PART 4 (last chance to send on a gateway restart).
#   Then set URL (and API_KEY if the node has one) below, save and publish the project.
#
# WHAT IS DIFFERENT FROM THE ORIGINAL GUIDE, AND WHY
#   - Gateway Tag Change scripts get `event`, `newValue` and `initialChange`; `tagPath`,
#     `tagValue` and `qualifiedValue` do not exist there. Variables of the script body do not
#     survive between runs, so the batch lives in system.util.getGlobals() (project library
#     module globals are reset whenever the project is saved).
#   - system.net.httpPost returns only the body text (no .statusCode): testing
#     response.statusCode raised inside the try and re-queued every batch that WAS delivered.
#     system.net.httpClient() returns a response with the real statusCode.
#   - A batch is sent again only when sending again can help: 503 (Node-RED asks to wait:
#     spool full, or the events were not durable in time), other 5xx, 404 (Node-RED is
#     starting its flows), 401 (wrong key: keep the data until the key is fixed) and network
#     errors. 413 halves the batch. Other 4xx (400, 415) are dropped with a log: the data can
#     never be accepted, resending it forever would block everything behind it.
#   - The HTTP call never runs on the tag change thread: a slow Node-RED cannot hold up tag
#     change events.
#   - The receiver drops exact repeats (same tag, timestamp, value and quality), so a resend
#     after a timeout, or the initialChange event after a restart, costs nothing downstream.
#
# PAYLOAD: a JSON array of events, exactly
#   {"tagPath": "[default]Line1/Speed", "tagProvider": "default", "value": 12.5,
#    "quality": "Good", "qualityCode": 192, "timestamp": 1765456245123, "dataType": "float"}
# =============================================================================================

# ------------------------------------ PART 1: project library script "zerobus" ---------------
import system
from java.lang import System as JavaSystem
from java.util import Date
from java.util.concurrent.locks import ReentrantLock

URL = "http://node-red.example.local:1880/system/zerobus/ingest/batch"
API_KEY = None            # e.g. "change-me" when the ignition in node has an API key
BATCH_SIZE = 500          # events per POST (the receiver takes up to 10000 by default)
MAX_WAIT_MS = 1000        # send a partial batch once its oldest event waited this long
MAX_BUFFER = 200000       # events kept while Node-RED is unreachable; beyond, the oldest go
CONNECT_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 30000   # longer than the node's durable timeout (10 s by default)

_GLOBALS_KEY = "zerobus.ignition.state"
logger = system.util.getLogger("zerobus")


def _now():
    return JavaSystem.currentTimeMillis()


def _state():
    g = system.util.getGlobals()
    st = g.get(_GLOBALS_KEY)
    if st is None:
        st = g.setdefault(_GLOBALS_KEY, {
            "bufferLock": ReentrantLock(),
            "sendLock": ReentrantLock(),
            "buffer": [],
            "oldest": 0,
            "batchSize": BATCH_SIZE,
            "notBefore": 0,
            "dropped": 0,
            "client": None,
        })
    return st


def _client(st):
    if st["client"] is None:
        st["client"] = system.net.httpClient(timeout=CONNECT_TIMEOUT_MS)
    return st["client"]


def _provider(path):
    if path.startswith("[") and "]" in path:
        return path[1:path.index("]")]
    return "default"


def make_event(tagPath, qv):
    """One tag event of the SPEC event model from a tag path and a QualifiedValue."""
    path = str(tagPath)
    value = qv.value
    data_type = type(value).__name__
    if isinstance(value, Date):
        value = value.getTime()          # DateTime tags: ms since the epoch; dataType stays "Date"
    elif data_type == "array":
        value = list(value)              # Java arrays become JSON arrays
    ts = qv.timestamp
    return {
        "tagPath": path,
        "tagProvider": _provider(path),
        "value": value,
        "quality": str(qv.quality),
        "qualityCode": int(qv.quality.getIntValue()),
        "timestamp": long(ts.getTime()) if ts is not None else long(_now()),
        "dataType": data_type,
    }


def enqueue(tagPath, qv):
    """Called by the Tag Change script: buffer the event, send in the background when full."""
    st = _state()
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        if not buf:
            st["oldest"] = _now()
        buf.append(make_event(tagPath, qv))
        if len(buf) > MAX_BUFFER:
            extra = len(buf) - MAX_BUFFER
            del buf[:extra]
            st["dropped"] += extra
            if st["dropped"] % 10000 < extra:
                logger.warn("zerobus: buffer full, %d oldest events dropped so far" % st["dropped"])
        full = len(buf) >= st["batchSize"]
    finally:
        lock.unlock()
    if full:
        system.util.invokeAsynchronous(flush)


def _take(st, force):
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        if not buf:
            return None
        if not force and len(buf) < st["batchSize"] and _now() - st["oldest"] < MAX_WAIT_MS:
            return None
        return buf[:st["batchSize"]]
    finally:
        lock.unlock()


def _remove(st, batch):
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        # the batch is the head of the buffer unless the buffer overflowed meanwhile
        n = len(batch)
        if buf[:n] == batch:
            del buf[:n]
        st["oldest"] = _now() if buf else 0
    finally:
        lock.unlock()


def _post(st, batch):
    headers = {"Content-Type": "application/json"}
    if API_KEY:
        headers["Authorization"] = "Bearer " + API_KEY
    body = system.util.jsonEncode(batch)
    try:
        resp = _client(st).post(URL, data=body, headers=headers, timeout=READ_TIMEOUT_MS)
        return resp.statusCode, resp
    except Exception as e:               # connection refused, timeouts (Python exceptions)
        return None, str(e)
    except:                              # Java exceptions
        return None, "network error"


def _retry_after_ms(resp):
    try:
        h = resp.headers.get("Retry-After") or resp.headers.get("retry-after")
        if isinstance(h, list):
            h = h[0]
        return int(h) * 1000
    except:
        return 2000


def flush(force=False):
    """Sends what is due. Called by the Timer script, after a full batch, and on shutdown."""
    st = _state()
    if _now() < st["notBefore"] and not force:
        return
    send_lock = st["sendLock"]
    if not send_lock.tryLock():
        return                           # another thread is sending
    try:
        while True:
            batch = _take(st, force)
            if batch is None:
                return
            status, resp = _post(st, batch)
            if status == 200:
                _remove(st, batch)
                st["batchSize"] = BATCH_SIZE
                continue
            if status == 413 and len(batch) > 1:
                st["batchSize"] = max(1, len(batch) // 2)
                continue
            if status is None or status >= 500 or status in (401, 404):
                # keep the batch; try again later (503 says when)
                wait = _retry_after_ms(resp) if status == 503 else 2000
                st["notBefore"] = _now() + wait
                logger.warn("zerobus: batch of %d kept for retry (%s)" % (len(batch), status if status else resp))
                return
            # 400, 413 for a single event, 415...: resending cannot help
            logger.error("zerobus: batch of %d dropped, HTTP %s: %s" % (len(batch), status, resp.text[:500]))
            _remove(st, batch)
    finally:
        send_lock.unlock()
# ------------------------------------ END OF PART 1 ------------------------------------------


# ------------------------------------ PART 2: Gateway Events > Tag Change > Script -----------
# (`event`, `newValue` and `initialChange` are provided by Ignition.)
#
#   zerobus.enqueue(event.tagPath, newValue)
#
# To skip the value every tag reports when the script (re)starts, use instead:
#
#   if not initialChange:
#       zerobus.enqueue(event.tagPath, newValue)


# ------------------------------------ PART 3: Gateway Events > Timer (1000 ms) ---------------
#
#   zerobus.flush()


# ------------------------------------ PART 4: Gateway Events > Shutdown ----------------------
#
#   zerobus.flush(True)

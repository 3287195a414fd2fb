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
#   Nothing else needs changing. Success shows in the gateway log as
#   "INFO Gateway.ZerobusForwarder Sent 500 events to Zerobus".
#
# WHAT IS DIFFERENT FROM THE ORIGINAL GUIDE, AND WHY
#   - Gateway Tag Change scripts get `event`, `newValue` and `initialChange`; `tagPath`,
#     `tagValue` and `qualifiedValue` do not exist there. Variables of the script body do not
#     survive between runs, so the buffer lives in system.util.getGlobals() (project library
#     module globals are reset whenever the project is saved).
#   - Ignition 8's QualityCode has getCode(); getIntValue() was Ignition 7's DataQuality.
#     Anything that differs between versions is read with a guard: a missing method never
#     costs an event (without a code the receiver derives it from the quality name).
#   - system.net.httpPost returns only the body text (no .statusCode): testing
#     response.statusCode raised inside the try and re-queued every batch that WAS delivered.
#     system.net.httpClient() returns a response with the real statusCode.
#   - system.net.httpClient() speaks HTTP/2 by default, which on an http:// URL means an
#     "Upgrade: h2c" offer on every request; this script asks for HTTP/1.1 (the node answers
#     either way; an https:// URL works too).
#   - Each event carries sourceSystem: the gateway's system name, so that one Node-RED can
#     receive from many gateways (set SOURCE_SYSTEM below to override it).
#   - A batch is sent again only when sending again can help: 503 (Node-RED asks to wait:
#     spool full, or the events were not durable in time; Retry-After says how long), other
#     5xx, 404 (Node-RED is starting its flows), 401 (wrong key: the data is kept until the key
#     is fixed and the project saved) and network errors. 413 makes batches smaller (by the
#     limit the node names, or by half) and they stay that small. Other 4xx (400, 415) are
#     dropped with a log: the data can never be accepted, resending it forever would block
#     everything behind it.
#   - At most one thread sends at a time, never the tag change thread: a slow Node-RED cannot
#     hold up tag change events, and a full buffer cannot pile up threads.
#   - The receiver drops exact repeats (same tag, timestamp, value and quality), so a resend
#     after a timeout, or the initialChange event after a restart, costs nothing downstream.
#   - Log lines use the guide's logger name (Gateway.ZerobusForwarder): a success line at INFO
#     per batch, warnings while a batch waits for a retry, errors when one is dropped.
#
# PAYLOAD: a JSON array of events, exactly
#   {"tagPath": "[default]Line1/Speed", "tagProvider": "default", "value": 12.5,
#    "quality": "Good", "qualityCode": 192, "timestamp": 1765456245123, "dataType": "float",
#    "sourceSystem": "Ignition-Plant1"}
# =============================================================================================

# ------------------------------------ PART 1: project library script "zerobus" ---------------
import system
from java.lang import System as JavaSystem
from java.util import Date
from java.util.concurrent import TimeUnit
from java.util.concurrent.locks import ReentrantLock

URL = "http://node-red.example.local:1880/system/zerobus/ingest/batch"
API_KEY = None            # e.g. "change-me" when the ignition in node has an API key
SOURCE_SYSTEM = None      # None: the gateway's system name; or a name of your own, e.g. "plant-1"
BATCH_SIZE = 500          # events per POST at most (the receiver takes up to 10000 by default)
BATCH_BYTES = 1000000     # bytes per POST at most (below the node's Max body; lowered after a 413)
MAX_WAIT_MS = 1000        # send a partial batch once its oldest event waited this long
MAX_BUFFER = 200000       # events kept while Node-RED is unreachable; beyond, the oldest go
CONNECT_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 30000   # longer than the node's durable timeout (10 s by default)

_GLOBALS_KEY = "zerobus.ignition.state.2"
logger = system.util.getLogger("Gateway.ZerobusForwarder")


def _now():
    return JavaSystem.currentTimeMillis()


def _state():
    g = system.util.getGlobals()
    st = g.get(_GLOBALS_KEY)
    if st is None:
        st = g.setdefault(_GLOBALS_KEY, {
            "bufferLock": ReentrantLock(),
            "sendLock": ReentrantLock(),
            "buffer": [],             # [json text, utf-8 bytes] per event, oldest first
            "oldest": 0,
            "maxEvents": BATCH_SIZE,  # what a 413 taught stays learned
            "maxBytes": BATCH_BYTES,
            "notBefore": 0,
            "dropped": 0,
            "senderStarted": False,
            "client": None,
        })
    return st


def _client(st):
    if st["client"] is None:
        st["client"] = system.net.httpClient(timeout=CONNECT_TIMEOUT_MS, version="HTTP_1_1")
    return st["client"]


def _provider(path):
    if path.startswith("[") and "]" in path:
        return path[1:path.index("]")]
    return "default"


_source = []


def _source_system():
    """SOURCE_SYSTEM, else the gateway's name (read once per module load); None if unreadable."""
    if not _source:
        name = SOURCE_SYSTEM
        if name is None:
            try:
                qv = system.tag.readBlocking(["[System]Gateway/SystemName"])[0]
                name = qv.value if qv.quality.isGood() else None
            except:
                logger.warn("zerobus: could not read [System]Gateway/SystemName; set SOURCE_SYSTEM")
        _source.append(unicode(name) if name else None)
    return _source[0]


def _quality_code(quality):
    for method in ("getCode", "getIntValue"):   # Ignition 8 QualityCode; Ignition 7 DataQuality
        if hasattr(quality, method):
            try:
                return int(getattr(quality, method)())
            except:
                pass
    return None


def make_event(tagPath, qv):
    """One tag event of the receiver's event model from a tag path and a QualifiedValue."""
    path = str(tagPath)
    value = qv.value
    data_type = type(value).__name__
    if isinstance(value, Date):
        value = value.getTime()          # DateTime tags: ms since the epoch; dataType stays "Date"
    elif data_type == "array":
        value = list(value)              # Java arrays become JSON arrays
    elif value is not None and not isinstance(value, (bool, int, long, float, basestring)):
        value = unicode(value)           # datasets, documents...: their text, never a lost event
    quality = qv.quality
    ts = qv.timestamp
    event = {
        "tagPath": path,
        "tagProvider": _provider(path),
        "value": value,
        "quality": str(quality) if quality is not None else "Good",
        "timestamp": long(ts.getTime()) if isinstance(ts, Date) else long(_now()),
        "dataType": data_type,
    }
    code = _quality_code(quality)
    if code is not None:
        event["qualityCode"] = code
    source = _source_system()
    if source:
        event["sourceSystem"] = source
    return event


def enqueue(tagPath, qv):
    """Called by the Tag Change script: buffer the event; one background sender when full."""
    try:
        text = system.util.jsonEncode(make_event(tagPath, qv))
    except Exception as e:
        logger.error("zerobus: tag change of %s not buffered: %s" % (tagPath, e))
        return
    st = _state()
    start_sender = False
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        if not buf:
            st["oldest"] = _now()
        buf.append([text, len(text.encode("utf-8"))])
        if len(buf) > MAX_BUFFER:
            extra = len(buf) - MAX_BUFFER
            del buf[:extra]
            st["dropped"] += extra
            if st["dropped"] % 10000 < extra:
                logger.warn("zerobus: buffer full, %d oldest events dropped so far" % st["dropped"])
        if len(buf) >= st["maxEvents"] and not st["senderStarted"] and _now() >= st["notBefore"]:
            st["senderStarted"] = start_sender = True
    finally:
        lock.unlock()
    if start_sender:
        system.util.invokeAsynchronous(_send_in_background)


def _send_in_background():
    try:
        flush()
    finally:
        _state()["senderStarted"] = False


def _take(st, force):
    """The next batch (a list of [text, bytes]) or None when nothing is due."""
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        if not buf:
            return None
        if not force and len(buf) < st["maxEvents"] and _now() - st["oldest"] < MAX_WAIT_MS:
            return None
        batch, size = [], 2
        for item in buf[:st["maxEvents"]]:
            if batch and size + item[1] + 1 > st["maxBytes"]:
                break
            batch.append(item)
            size += item[1] + 1
        return batch
    finally:
        lock.unlock()


def _remove(st, batch):
    lock = st["bufferLock"]
    lock.lock()
    try:
        buf = st["buffer"]
        # the batch is the head of the buffer, shorter if the buffer overflowed meanwhile
        for i in range(min(len(batch), len(buf))):
            if buf[i] is batch[-1]:
                del buf[:i + 1]
                break
        st["oldest"] = _now() if buf else 0
    finally:
        lock.unlock()


def _post(st, body):
    headers = {"Content-Type": "application/json"}
    if API_KEY:
        headers["Authorization"] = "Bearer " + API_KEY
    try:
        resp = _client(st).post(URL, data=body, headers=headers, timeout=READ_TIMEOUT_MS)
        return resp.statusCode, resp
    except Exception as e:               # Python exceptions
        return None, str(e)
    except:                              # Java exceptions (connection refused, timeouts)
        import sys
        return None, str(sys.exc_info()[1])


def _header(resp, name):
    try:
        for k, v in dict(resp.headers).items():
            if str(k).lower() == name:
                return v[0] if isinstance(v, (list, tuple)) or hasattr(v, "get") else v
    except:
        pass
    return None


def _retry_after_ms(resp):
    try:
        return max(1, int(str(_header(resp, "retry-after")))) * 1000
    except:
        return 2000


def _learn_limit(st, resp, batch, size):
    """After a 413: use the limit the node names, else half the batch; it stays learned."""
    answer = None
    try:
        answer = resp.json
    except:
        pass
    limit = answer.get("limit") if hasattr(answer, "get") else None
    error = answer.get("error") if hasattr(answer, "get") else None
    if error == "too_many_events" and limit:
        st["maxEvents"] = max(1, min(int(limit), len(batch) - 1))
    elif error == "payload_too_large" and limit:
        st["maxBytes"] = max(1, min(int(limit) * 9 // 10, size - 1))
    else:
        st["maxBytes"] = max(1, size // 2)
    logger.warn("zerobus: HTTP 413, batches now at most %d events and %d bytes" % (st["maxEvents"], st["maxBytes"]))


def flush(force=False):
    """Sends what is due. Called by the Timer script, by the background sender, and on shutdown."""
    st = _state()
    if _now() < st["notBefore"] and not force:
        return
    send_lock = st["sendLock"]
    if not (send_lock.tryLock(CONNECT_TIMEOUT_MS + READ_TIMEOUT_MS, TimeUnit.MILLISECONDS) if force else send_lock.tryLock()):
        return                           # another thread is sending
    try:
        while True:
            batch = _take(st, force)
            if batch is None:
                return
            body = "[" + ",".join([item[0] for item in batch]) + "]"
            size = len(body.encode("utf-8"))
            status, resp = _post(st, body)
            if status == 200:
                _remove(st, batch)
                logger.info("Sent %d events to Zerobus" % len(batch))
                continue
            if status == 413 and len(batch) > 1:
                _learn_limit(st, resp, batch, size)
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

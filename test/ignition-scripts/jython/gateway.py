# A stand-in for the parts of an Ignition gateway that run the bundled scripts: project library
# modules (re-created on every project save), Gateway Event scripts (Tag Change, Timer, Shutdown),
# and an 8.3 Event Stream (Tag Event source, pass-through encoder, buffer, Script or HTTP handler,
# failure strategy RETRY). Driven by the test over stdin/stdout, one JSON command per line; log
# lines and answers go back as JSON lines. Assumptions about Ignition are marked "ASSUMPTION".
import imp
import json
import os
import re
import sys
import threading
import traceback

# the compiled Java stand-ins (the Debian launcher runs `java -jar`, which ignores CLASSPATH)
sys.path.append(os.environ["IGNITION_STUB_CLASSES"])

import jarray
from java.lang import Boolean, Byte, Double, Float, Integer, Long, Short, String, Thread
from java.util import Date, HashMap
from java.util.concurrent import LinkedBlockingQueue, TimeUnit
from com.inductiveautomation.ignition.common.model.values import BasicQualifiedValue, QualityCode
from com.inductiveautomation.ignition.common.tags.model import BasicTagPath

import system

_out = threading.Lock()


def emit(obj):
    with _out:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


# ---- scripts as shipped, apart from the settings a user edits ----------------------------------

def configured(path, settings):
    """The file's text with each `NAME = ...` setting line replaced, as a user edits it."""
    text = open(path).read()
    for name, value in settings.items():
        line = re.compile(r"^%s = .*$" % name, re.M)
        assert len(line.findall(text)) == 1, "%s: one %s line expected" % (path, name)
        text = line.sub("%s = %s" % (name, json.dumps(value) if value is not None else "None"), text)
    return text


def load_module(name, path, settings):
    """A project library script saved in the Designer: a new module object every save."""
    mod = imp.new_module(name)
    mod.__file__ = path
    exec compile(configured(path, settings), path, "exec") in mod.__dict__
    sys.modules[name] = mod
    return mod


def event_script(path, part):
    """The code of a Gateway Event script as the file's PART n comment shows it (first block)."""
    lines = open(path).read().split("\n")
    start = [i for i, l in enumerate(lines) if l.startswith("# ") and ("PART %d:" % part) in l][0]
    code = []
    for l in lines[start + 1:]:
        if l.startswith("#   "):
            code.append(l[4:])
        elif code:
            break
    assert code, "no PART %d code in %s" % (part, path)
    return compile("\n".join(code), "%s PART %d" % (path, part), "exec")


def fenced_python(path):
    text = open(path).read()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


# ---- tag values of every type and quality ------------------------------------------------------

QUALITIES = [
    (192, "Good", None),
    (1073742081, "Uncertain_LastKnownValue", None),
    (-2147483132, "Bad_Stale", None),
    (-2147483133, "Bad_Disabled", "New Quality"),
    (-1073741055, "Error_Configuration", None),
]
TYPES = ["Int1", "Int2", "Int4", "Int8", "Float4", "Float8", "Boolean", "String", "DateTime", "Int4Array", "Null"]


def java_value(kind, i, size):
    if kind == "Int1": return Byte(i % 100)
    if kind == "Int2": return Short(i % 30000)
    if kind == "Int4": return Integer(i)
    if kind == "Int8": return Long(10 ** 12 + i)
    if kind == "Float4": return Float(i + 0.1)
    if kind == "Float8": return Double(i * 1.25)
    if kind == "Boolean": return Boolean(i % 2 == 0)
    if kind == "String": return String(u"v%d \u00e9 %s" % (i, "x" * size))
    if kind == "DateTime": return Date(1700000000000 + i)
    if kind == "Int4Array": return jarray.array([Integer(i), Integer(i + 1)], Integer)
    return None


def qualified(case, i, size, base):
    kind = TYPES[i % len(TYPES)] if size == 0 else "String"
    code, name, diagnostic = QUALITIES[(i // len(TYPES)) % len(QUALITIES)]
    path = BasicTagPath("default", "%s/%s_%d" % (case, kind, i % 7))
    return path, BasicQualifiedValue(java_value(kind, i, size), QualityCode(code, name, diagnostic), Date(base + i))


# ---- 8.1: Gateway Event scripts ----------------------------------------------------------------

class TagChangeEvent(object):
    """The `event` of a Gateway Tag Change script: tagPath (a TagPath object), value, initial."""

    def __init__(self, tagPath, value, initial):
        self.tagPath, self.value, self.initial = tagPath, value, initial

    def getTagPath(self): return self.tagPath
    def getValue(self): return self.value
    def isInitial(self): return self.initial


class Gateway81(object):
    def __init__(self, path):
        self.path = path
        self.tag_change = event_script(path, 2)
        self.timer_script = event_script(path, 3)
        self.shutdown_script = event_script(path, 4)
        self.running = False

    def save(self, settings):
        self.module = load_module("zerobus", self.path, settings)

    def scope(self, **extra):
        s = {"system": system, "zerobus": sys.modules["zerobus"]}
        s.update(extra)
        return s

    def start(self):
        """ASSUMPTION: a Timer script with Fixed Delay 1000 ms on a Dedicated thread runs, finishes,
        waits 1000 ms, runs again; it and the Tag Change script see the current project library."""
        self.running = True
        gw = self

        def loop():
            while gw.running:
                try:
                    exec gw.timer_script in gw.scope()
                except:
                    emit({"log": ["ERROR", "gateway.timer", traceback.format_exc()]})
                Thread.sleep(1000)
        self.timer = Thread(loop, "timer")
        self.timer.setDaemon(True)
        self.timer.start()

    def changes(self, case, count, size, base):
        """ASSUMPTION: the Tag Change script runs once per change, one execution at a time, with
        `event` (getTagPath(), getValue()), `newValue` and `initialChange` in scope."""
        for i in range(count):
            path, qv = qualified(case, i, size, base)
            exec self.tag_change in self.scope(event=TagChangeEvent(path, qv, False), newValue=qv, initialChange=False)

    def buffered(self):
        """Events the script holds (read from its globals, for the test's report only)."""
        states = [v for k, v in system.util.getGlobals().items() if k.startswith("zerobus.ignition.state")]
        return sum(len(st["buffer"]) for st in states)

    def shutdown(self):
        """ASSUMPTION: on a gateway stop the Timer stops, then the Shutdown script runs to its end."""
        self.running = False
        self.timer.join()
        exec self.shutdown_script in self.scope()


# ---- 8.3: an Event Stream ----------------------------------------------------------------------

class StreamEvent(object):
    """ASSUMPTION: a Tag Event source with the pass-through encoder gives `data` = the tag's
    QualifiedValue and `metadata` = a map with tagPath (the full path as text) and isInitial."""

    def __init__(self, path, qv):
        self.data = qv
        self.metadata = HashMap()
        self.metadata.put("tagPath", str(path))
        self.metadata.put("isInitial", False)


class EventStream(object):
    """ASSUMPTION: the buffer hands the handler every event queued when the oldest has waited
    maxWait (1000 ms), at most maxQueueSize at once, in order; with failure strategy RETRY a
    raised exception makes it hand the same events again after the retry delay, forever."""

    def __init__(self, handler, transform=None, max_wait_ms=1000, max_queue=10000, retry_ms=1000):
        self.queue = LinkedBlockingQueue()
        self.handler, self.transform = handler, transform
        self.max_wait_ms, self.max_queue, self.retry_ms = max_wait_ms, max_queue, retry_ms
        self.state = {}
        self.retries = 0
        t = Thread(self.loop, "event-stream")
        t.setDaemon(True)
        t.start()

    def loop(self):
        while True:
            first = self.queue.take()
            Thread.sleep(self.max_wait_ms)
            batch = [first]
            while len(batch) < self.max_queue and not self.queue.isEmpty():
                batch.append(self.queue.poll())
            if self.transform:
                batch = [self.transform(e, self.state) for e in batch]
            while True:
                try:
                    self.handler()(batch, self.state)
                    break
                except:
                    self.retries += 1
                    emit({"log": ["WARN", "gateway.eventstream", "handler failed, retrying: %s" % sys.exc_info()[1]]})
                    Thread.sleep(self.retry_ms)

    def events(self, case, count, size, base):
        for i in range(count):
            path, qv = qualified(case, i, size, base)
            self.queue.put(StreamEvent(path, qv))


def http_handler(settings):
    """The HTTP handler as the recipe configures it. ASSUMPTION: it posts the buffered (transformed)
    events as one JSON array with the configured headers through Java's HttpClient with its
    defaults (HTTP/2 offered on http://), and any non-2xx answer is a failure (RETRY resends)."""
    client = system.net.httpClient(timeout=5000)

    def handle(events, state):
        r = client.post(settings["URL"], data=system.util.jsonEncode(events), headers=settings["headers"], timeout=30000)
        if not r.good:
            raise Exception("HTTP %d" % r.statusCode)
    return handle


def exchange_counts():
    counts = {}
    for e in system.net.exchanges:
        key = "%s %s %s" % e
        counts[key] = counts.get(key, 0) + 1
    return counts


# ---- the command loop --------------------------------------------------------------------------

def main():
    gw81 = None
    streams = {}
    for line in iter(sys.stdin.readline, ""):
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            answer = {}
            if op == "save81":
                if gw81 is None:
                    gw81 = Gateway81(cmd["file"])
                gw81.save(cmd["settings"])
                if not gw81.running:
                    gw81.start()
            elif op == "changes81":
                gw81.changes(cmd["case"], cmd["count"], cmd.get("size", 0), cmd["base"])
            elif op == "shutdown81":
                answer = {"buffered": gw81.buffered()}
                gw81.shutdown()
                gw81 = None
            elif op == "save83":
                load_module("zerobus_handler", cmd["file"], cmd["settings"])
                if "script" not in streams:
                    streams["script"] = EventStream(lambda: sys.modules["zerobus_handler"].onEventsReceived, max_queue=cmd.get("maxQueue", 10000), retry_ms=cmd.get("retryMs", 1000))
            elif op == "recipe":
                mod = imp.new_module("recipe_transform")
                mod.system = system  # ASSUMPTION: as in every Ignition script, `system` is in scope
                exec compile(fenced_python(cmd["file"]), cmd["file"], "exec") in mod.__dict__
                handler = http_handler(cmd["settings"])
                streams["recipe"] = EventStream(lambda: handler, transform=mod.transform, retry_ms=cmd.get("retryMs", 1000))
            elif op == "events83":
                streams[cmd["stream"]].events(cmd["case"], cmd["count"], cmd.get("size", 0), cmd["base"])
            elif op == "stats":
                logs = list(system.util.log_sink)
                del system.util.log_sink[:len(logs)]
                answer = {"threads": system.util.thread_counts(), "logs": logs,
                          "exchanges": exchange_counts(),
                          "retries": sum(s.retries for s in streams.values())}
                del system.net.exchanges[:]
            elif op == "quit":
                emit({"ok": True})
                return
            else:
                raise Exception("unknown op " + op)
            answer["ok"] = True
            emit(answer)
        except:
            emit({"ok": False, "error": traceback.format_exc()})


main()

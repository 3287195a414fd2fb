# system.util: loggers, globals, background threads, JSON.
import json
import threading
from java.lang import Runnable, Thread, System as JavaSystem

# what the test reads back: log lines (printed by the runner) and thread counts
log_sink = []
_threads = {"started": 0, "alive": 0, "peak": 0}
_threads_lock = threading.Lock()

# ASSUMPTION: getGlobals() returns one dict for the whole gateway (8.x: a Python dict shared by all
# scripts) that survives a project save, while project library modules are re-created on save.
_globals = {}


def getGlobals():
    return _globals


class _Logger(object):
    """ASSUMPTION: getLogger(name) logs under exactly `name` (the gateway's wrapper.log shows it)."""

    def __init__(self, name):
        self.name = name

    def _log(self, level, message):
        log_sink.append((level, self.name, unicode(message)))

    def trace(self, m): self._log("TRACE", m)
    def debug(self, m): self._log("DEBUG", m)
    def info(self, m): self._log("INFO", m)
    def warn(self, m): self._log("WARN", m)
    def error(self, m): self._log("ERROR", m)


def getLogger(name):
    return _Logger(name)


class _Task(Runnable):
    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def run(self):
        try:
            self.fn(*self.args, **self.kwargs)
        except:
            import sys
            log_sink.append(("ERROR", "system.util.invokeAsynchronous", unicode(sys.exc_info()[1])))
        finally:
            with _threads_lock:
                _threads["alive"] -= 1


def invokeAsynchronous(function, args=None, kwargs=None, description=None):
    """Runs `function` on a new thread at once and returns the thread (as the 8.x docs say)."""
    with _threads_lock:
        _threads["started"] += 1
        _threads["alive"] += 1
        _threads["peak"] = max(_threads["peak"], _threads["alive"])
    t = Thread(_Task(function, args or [], kwargs or {}), description or "invokeAsynchronous")
    t.setDaemon(True)
    t.start()
    return t


def thread_counts():
    with _threads_lock:
        return dict(_threads)


def _plain(obj):
    raise TypeError("jsonEncode cannot encode a %s" % type(obj).__name__)


def jsonEncode(pyObj, indentFactor=0):
    """ASSUMPTION: Python/Jython dicts, lists, strings, numbers, booleans and None encode as JSON;
    any other object (a java.util.Date, a Java array) raises. Non-finite floats come out as bare
    NaN/Infinity (the docs do not say; the receiver accepts both forms)."""
    return unicode(json.dumps(pyObj, default=_plain, separators=(",", ":"), ensure_ascii=False))


def jsonDecode(jsonString):
    return json.loads(jsonString)


def now_ms():
    return JavaSystem.currentTimeMillis()

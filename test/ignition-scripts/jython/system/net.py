# system.net.httpClient: Java's java.net.http.HttpClient, as Ignition 8's JythonHttpClient wraps it.
from java.lang import String
from java.net import URI
from java.net.http import HttpClient, HttpRequest, HttpResponse
from java.nio.charset import StandardCharsets
from java.time import Duration
import util

# what the test reads back: per request the protocol version answered and the Content-Type sent
exchanges = []


class Response(object):
    """ASSUMPTION (8.1/8.3 docs "JythonHttpClient"): statusCode, good, clientError, serverError,
    text, json (decoded on demand), and headers as a dict of header name -> list of values."""

    def __init__(self, r):
        self.statusCode = r.statusCode()
        self.body = r.body()
        self.text = unicode(String(self.body, StandardCharsets.UTF_8))
        self.headers = dict((unicode(k), list(v)) for k, v in r.headers().map().items())
        self.good = 200 <= self.statusCode < 300
        self.clientError = 400 <= self.statusCode < 500
        self.serverError = 500 <= self.statusCode < 600
        self.version = str(r.version())

    @property
    def json(self):
        return util.jsonDecode(self.text) if self.text else None


class JythonHttpClient(object):
    """ASSUMPTION: `timeout` is the connect timeout (ms) and `version` the HttpClient.Version name,
    "HTTP_2" by default, as the system.net.httpClient page lists them."""

    def __init__(self, timeout=60000, bypass_cert_validation=False, username=None, password=None,
                 proxy=None, cookie_policy="ACCEPT_ORIGINAL_SERVER", redirect_policy="NORMAL",
                 version="HTTP_2", customizer=None):
        self.javaClient = (HttpClient.newBuilder()
                           .connectTimeout(Duration.ofMillis(timeout))
                           .version(HttpClient.Version.valueOf(version))
                           .build())

    def post(self, url, params=None, data=None, file=None, headers=None, username=None, password=None, timeout=60000):
        return self.request(url, "POST", params, data, headers, timeout)

    def get(self, url, params=None, headers=None, username=None, password=None, timeout=60000):
        return self.request(url, "GET", params, None, headers, timeout)

    def request(self, url, method, params=None, data=None, headers=None, timeout=60000):
        """ASSUMPTION: a str/unicode `data` goes as UTF-8 with Content-Type text/plain;charset=UTF-8
        and a dict as JSON with application/json, unless a Content-Type header is given; HTTP
        errors (4xx, 5xx) come back as a Response; network errors and timeouts raise the Java
        exception (java.net.ConnectException, java.net.http.HttpTimeoutException, IOException)."""
        builder = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMillis(timeout))
        content_type = None
        payload = None
        if isinstance(data, dict):
            payload, content_type = util.jsonEncode(data), "application/json"
        elif isinstance(data, basestring):
            payload, content_type = data, "text/plain;charset=UTF-8"
        elif data is not None:
            payload, content_type = data, "application/octet-stream"
        sent_type = content_type
        for k, v in (headers or {}).items():
            builder.header(k, v)
            if k.lower() == "content-type":
                content_type, sent_type = None, v
        if content_type:
            builder.header("Content-Type", content_type)
        if payload is None:
            publisher = HttpRequest.BodyPublishers.noBody()
        elif isinstance(payload, basestring):
            publisher = HttpRequest.BodyPublishers.ofByteArray(String(payload).getBytes(StandardCharsets.UTF_8))
        else:
            publisher = HttpRequest.BodyPublishers.ofByteArray(payload)
        builder.method(method, publisher)
        r = Response(self.javaClient.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray()))
        exchanges.append((r.version, sent_type, r.statusCode))
        return r


def httpClient(timeout=60000, bypass_cert_validation=False, username=None, password=None, proxy=None,
               cookie_policy="ACCEPT_ORIGINAL_SERVER", redirect_policy="NORMAL", version="HTTP_2", customizer=None):
    return JythonHttpClient(timeout, bypass_cert_validation, username, password, proxy, cookie_policy,
                            redirect_policy, version, customizer)

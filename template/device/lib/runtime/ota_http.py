# The HTTP of over-the-air updates (runtime/ota): a plain GET over a socket, the
# body handed on in small pieces. https:// encrypts, but the server's certificate
# is not checked (a board has no clock or CA store to check it with): the
# release's signature, checked by runtime/ota, is what makes an answer trustworthy.
from micropython import const

_CHUNK = const(512)


def get(url, sink, feed):
    # HTTP/1.0 GET of an http:// or https:// URL; the body goes to sink(bytes). Raises OSError.
    import socket

    tls = url.startswith("https://")
    if not tls and not url.startswith("http://"):
        raise OSError("%s: only http:// and https:// URLs" % url)
    host, _, path = url[8 if tls else 7:].partition("/")
    host, _, port = host.partition(":")
    addr = socket.getaddrinfo(host, int(port or (443 if tls else 80)), 0, socket.SOCK_STREAM)[0][-1]
    s = socket.socket()
    try:
        s.settimeout(10)
        s.connect(addr)
        if tls:
            import ssl

            s = ssl.wrap_socket(s, server_hostname=host)  # pyright: ignore[reportArgumentType]
        s.write(("GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        status = s.readline()
        if b" 200 " not in status:
            raise OSError("%s: %s" % (url, str(status.strip(), "utf-8") or "no answer"))
        while s.readline() not in (b"\r\n", b"\n", b""):
            pass
        buf = bytearray(_CHUNK)
        while True:
            feed()
            n = s.readinto(buf)
            if not n:
                break
            sink(memoryview(buf)[:n])
    finally:
        s.close()


def fetch_json(url, feed, limit=16384):
    parts = []

    def sink(b):
        parts.append(bytes(b))
        if len(parts) * _CHUNK > limit:
            raise OSError("%s is over %d bytes" % (url, limit))

    get(url, sink, feed)
    return b"".join(parts)

"""The stores' HTTP transport: its response header parser, against a real
socket pair (the rest runs against real servers in test/integration)."""

import http.client
import socket
import threading

from swiftsync.stores import StoreError, http as store_http


def respond(raw):
    """An HTTPResponse of ours read from a server that sends ``raw``."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(raw)
        conn.close()
    thread = threading.Thread(target=serve)
    thread.start()
    conn = store_http._Connection('127.0.0.1:%d' % server.getsockname()[1],
                                  timeout=5)
    conn.request('GET', '/x')
    resp = conn.getresponse()
    body = resp.read()
    thread.join()
    server.close()
    return resp, body


def test_headers_like_http_client_and_utf8_names():
    meta_name = 'X-Object-Meta-Ünï'.encode('utf-8')
    resp, body = respond(
        b'HTTP/1.1 200 OK\r\n'
        b'Content-Length: 5\r\n'
        b'ETag: "abc"\r\n' + meta_name + b': v\xc3\xa9\r\n'
        b'X-Folded: one\r\n  two\r\n'
        b'Set-Thing: a\r\nSet-Thing: b\r\n'
        b'\r\nhello')
    assert (resp.status, resp.reason, body) == (200, 'OK', b'hello')
    assert resp.getheader('etag') == '"abc"'
    assert resp.getheader('x-folded') == 'one two'
    assert resp.headers.get_all('set-thing') == ['a', 'b']
    names = [k for k, _ in resp.getheaders()]
    # latin-1 text as http.client gives it; wsgi_to_str makes it UTF-8
    assert store_http.wsgi_to_str(names[2]) == 'X-Object-Meta-Ünï'
    assert store_http.wsgi_to_str(resp.getheader(names[2])) == 'vé'
    assert not resp.will_close


def test_lengths_chunks_and_close():
    resp, body = respond(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked'
                         b'\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    assert body == b'abc' and resp.chunked
    resp, body = respond(b'HTTP/1.1 204 No Content\r\n\r\n')
    assert body == b'' and not resp.will_close
    resp, body = respond(b'HTTP/1.0 200 OK\r\n\r\nuntil close')
    assert body == b'until close' and resp.will_close
    resp, body = respond(b'HTTP/1.1 100 Continue\r\n\r\n'
                         b'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n'
                         b'Connection: close\r\n\r\n')
    assert resp.status == 201 and resp.will_close


def test_header_limits_are_http_clients():
    raw = b'HTTP/1.1 200 OK\r\n' + b''.join(
        b'X-%d: v\r\n' % i for i in range(int(http.client._MAXHEADERS) + 1))
    try:
        respond(raw + b'\r\n')
    except http.client.HTTPException as e:
        assert 'more than' in str(e)
    else:
        raise AssertionError('no limit on the number of headers')


def test_pool_drops_a_connection_the_server_closed():
    """A PUT's body cannot be sent twice: an idle connection the server
    has closed is never handed out again."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    closed = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
        conn.close()  # as a server's idle timeout does
        closed.set()
    thread = threading.Thread(target=serve)
    thread.start()
    pool = store_http.ConnectionPool(
        'http://127.0.0.1:%d' % server.getsockname()[1], timeout=5)
    status, _, body = store_http.http_request(pool, 'GET', '/', {})
    assert (status, store_http.read_all(body)) == (200, b'ok')
    assert len(pool.idle) == 1
    closed.wait(5)
    thread.join()
    server.close()
    conn, reused = pool.get()
    assert not reused and pool.idle == []
    conn.close()


def tls_server(tmp_path, replies):
    """A TLS server with a fresh self-signed certificate answering
    ``replies`` connections with a 200; returns its port."""
    import ssl
    import subprocess
    key, cert = tmp_path / 'key.pem', tmp_path / 'cert.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1',
                    '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(4)

    def serve():
        for _ in range(replies):
            conn, _ = server.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n'
                                b'Connection: close\r\n\r\ntls')
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate
        server.close()
    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def test_tls_verify_ssl_on_and_off(tmp_path):
    """``verify_ssl = false`` talks to a self-signed endpoint; the default
    refuses it with a retryable StoreError naming no secret."""
    port = tls_server(tmp_path, 3)
    url = 'https://127.0.0.1:%d' % port
    insecure = store_http.ConnectionPool(url, timeout=5, verify=False)
    for _ in range(2):  # the pool's one TLS context serves every connection
        status, _, body = store_http.http_request(insecure, 'GET', '/', {})
        assert (status, store_http.read_all(body)) == (200, b'tls')
    checked = store_http.ConnectionPool(url, timeout=5)
    try:
        store_http.http_request(checked, 'GET', '/', {'X-Auth-Token': 'tok-secret-1'})
    except StoreError as e:
        assert e.retryable and 'SSL' in str(e)
        assert 'tok-secret-1' not in str(e)
    else:
        raise AssertionError('a self-signed certificate was accepted')

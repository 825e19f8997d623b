"""The lean S3 read path: its SigV4 signature is botocore's, its error and
listing parsing. Against real S3 servers it runs in test/integration
(test_stores, test_mirror, test_shunt read through it)."""

import datetime
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import pytest

from swiftsync.stores import s3wire
from swiftsync.stores.s3wire import S3Wire

NOW = datetime.datetime(2026, 11, 22, 1, 2, 3, tzinfo=datetime.timezone.utc)


def botocore_authorization(method, url, region='us-east-1', headers=None,
                           unsigned=False):
    request = botocore.awsrequest.AWSRequest(method=method, url=url,
                                             headers=headers or {})
    if unsigned:  # as our botocore client sends a stream
        request.context['client_config'] = botocore.config.Config(
            s3={'payload_signing_enabled': False})
    creds = botocore.credentials.Credentials('AKID', 'SECRET/KEY+x')
    with mock.patch.object(botocore.auth, 'get_current_datetime',
                           return_value=NOW.replace(tzinfo=None)):
        botocore.auth.S3SigV4Auth(creds, 's3', region).add_auth(request)
    return request.headers['Authorization']


@pytest.mark.parametrize('endpoint,style,bucket,key,query', [
    ('http://127.0.0.1:8333', 'path', 'b', 'obj', {}),
    ('http://127.0.0.1:8333', 'path', 'b', 'a dir/ü+%~*!x', {}),
    ('http://127.0.0.1:8333', 'path', 'b', '//lead/trail/', {}),
    ('https://s3.example.com', 'path', 'bkt', None,
     {'list-type': '2', 'prefix': 'a b/é', 'start-after': 'x+y',
      'max-keys': '1000', 'encoding-type': 'url'}),
    ('http://s3.example.com:80/base', 'path', 'b', 'k', {}),
    ('https://s3.example.com', 'virtual', 'bkt', 'k/ é', {}),
    ('https://s3.example.com', 'virtual', 'bkt', None,
     {'list-type': '2', 'continuation-token': 'a/b=+c'}),
])
def test_signature_is_botocores(endpoint, style, bucket, key, query):
    wire = S3Wire(endpoint, 'AKID', 'SECRET/KEY+x', 'eu-west-3',
                  addressing_style=style)
    sent = {}

    def fake_request(pool, method, path, headers, body=None, size=None):
        sent.update(netloc=pool.netloc, scheme=pool.scheme, path=path,
                    headers=headers)
        return 200, {}, iter(())

    with mock.patch.object(s3wire, 'http_request', fake_request), \
            mock.patch.object(s3wire.datetime, 'datetime') as dt:
        dt.now.return_value = NOW
        wire.request('GET', bucket, key, query=query)
    url = '%s://%s%s' % (sent['scheme'], sent['netloc'], sent['path'])
    assert sent['headers']['Authorization'] == botocore_authorization(
        'GET', url, 'eu-west-3')
    assert sent['headers']['x-amz-date'] == '20261122T010203Z'
    if style == 'virtual':
        assert sent['netloc'].startswith(bucket + '.')


def test_put_signature_is_botocores():
    """A streamed PUT: its headers signed, the payload not."""
    wire = S3Wire('https://s3.example.com', 'AKID', 'SECRET/KEY+x',
                  'eu-west-3')
    headers = {'Content-Type': 'text/plain', 'Content-MD5': 'abc==',
               'x-amz-meta-name': '  two  spaces ', 'x-amz-meta-e': '=?x?=',
               'x-amz-server-side-encryption': 'AES256',
               'x-amz-storage-class': 'STANDARD_IA'}
    sent = {}

    def fake_request(pool, method, path, hdrs, body=None, size=None):
        sent.update(path=path, headers=hdrs, body=list(body), size=size)
        return 200, {}, iter(())

    with mock.patch.object(s3wire, 'http_request', fake_request), \
            mock.patch.object(s3wire.datetime, 'datetime') as dt:
        dt.now.return_value = NOW
        wire.request('PUT', 'b', 'k é', headers=headers,
                     body=iter([b'ab', b'c']), size=3)
    assert (sent['body'], sent['size']) == ([b'ab', b'c'], 3)
    assert sent['headers']['x-amz-content-sha256'] == 'UNSIGNED-PAYLOAD'
    assert sent['headers']['Authorization'] == botocore_authorization(
        'PUT', 'https://s3.example.com' + sent['path'], 'eu-west-3',
        headers=headers, unsigned=True)


def test_signing_key_follows_the_date():
    wire = S3Wire('http://h:1', 'AK', 'SK', 'r')
    a = wire.signed_headers('GET', 'h:1', '/b/k', {}, now=NOW)
    b = wire.signed_headers('GET', 'h:1', '/b/k', {},
                            now=NOW + datetime.timedelta(days=1))
    again = wire.signed_headers('GET', 'h:1', '/b/k', {}, now=NOW)
    assert a['Authorization'] != b['Authorization']
    assert a == again
    assert 'SK' not in a['Authorization']


def test_error_document():
    assert s3wire.error_of(
        b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code>'
        b'<Message>The key does not exist.</Message></Error>') == (
            'NoSuchKey', 'The key does not exist.')
    assert s3wire.error_of(b'') == ('', '')
    assert s3wire.error_of(b'<html>proxy error</html>') == ('', '')
    assert s3wire.error_of(b'<Error xmlns="urn:x"><Code>SlowDown</Code>'
                           b'</Error>') == ('SlowDown', '')


@pytest.mark.parametrize('endpoint,style,wire', [
    ('http://127.0.0.1:8333', 'path', True),
    ('https://s3.example.com', 'virtual', True),
    ('https://s3.example.com', 'auto', False),   # botocore picks the host
    (None, 'path', False),                        # AWS: botocore's rules
])
def test_which_targets_read_on_the_lean_path(endpoint, style, wire):
    from swiftsync import config, stores
    target = config.S3Target(
        name='t-%s-%s' % (endpoint, style), bucket='b', access_key='AK',
        secret_key='SK', endpoint=endpoint, addressing_style=style)
    with mock.patch.object(stores, 's3_client_for',
                           return_value='botocore client') as built:
        store = stores.open_store(target, 'AUTH_a', 'c')
    assert (store.wire is not None) == wire
    # with the lean path, botocore's client waits for the first write
    assert built.called != wire
    if wire:
        assert store.wire.virtual == (style == 'virtual')
        with mock.patch.object(stores, 's3_client_for',
                               return_value='botocore client'):
            assert store.client == 'botocore client'


def test_a_large_error_page_keeps_its_status():
    """A 502 page of a proxy in front of S3, larger than any S3 error
    document: read in part, closed, and the answer is still a retryable
    502, not 'response too large'."""
    from swiftsync.stores import s3

    class Page(object):
        closed = False

        def __iter__(self):
            for _ in range(1000):
                yield b'<html>' + b'x' * 65536

        def close(self):
            self.closed = True
    page = Page()
    wire = S3Wire('http://127.0.0.1:1', 'AK', 'SK')
    err = s3._wire_error(wire, 502, page, 'GET b/k')
    assert (err.status, err.retryable, page.closed) == (502, True, True)

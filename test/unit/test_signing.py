"""swiftsync.signing: signed requests between autosync clusters."""

import pytest
from swift.common.swob import HeaderKeyDict, Request

from swiftsync import signing
from swiftsync.signing import NonceCache, SignatureError, sign_headers, verify

SECRET = 's3cret-s3cret-s3cret'
SECRETS = {'c1': SECRET, 'c3': 'another-secret-of-c3'}
NOW = 1763750000.0


def signed(method='PUT', path='/v1/AUTH_test/cont', sender='c1',
           receiver='c2', secret=SECRET, now=NOW, flags=''):
    return HeaderKeyDict(sign_headers(secret, method, path, sender,
                                      receiver, flags=flags, now=now))


def check(headers, method='PUT', path='/v1/AUTH_test/cont', receiver='c2',
          nonces=None, now=NOW + 1, window=60):
    return verify(headers, method, path, receiver, SECRETS,
                  nonces if nonces is not None else NonceCache(),
                  window=window, now=now)


def test_sign_and_verify():
    h = signed()
    assert set(h) == {signing.PEER, signing.TIMESTAMP, signing.NONCE,
                      signing.SIGNATURE}
    assert check(h) == ('c1', '')


def test_flags_are_signed():
    h = signed(flags='forward')
    assert check(h) == ('c1', 'forward')
    h = signed(flags='forward')
    h[signing.FLAGS] = 'other'
    with pytest.raises(SignatureError, match='bad peer signature'):
        check(h)


@pytest.mark.parametrize('what,change', [
    ('method', dict(method='DELETE')),
    ('path', dict(path='/v1/AUTH_test/other')),
    ('receiver', dict(receiver='c3')),
])
def test_signature_covers(what, change):
    h = signed()
    kwargs = dict(change)
    if what == 'receiver':
        # c3 knows c1 with another secret, and the receiver is in the MAC
        with pytest.raises(SignatureError):
            check(h, **kwargs)
        return
    with pytest.raises(SignatureError, match='bad peer signature'):
        check(h, **kwargs)


def test_forged_signature_and_wrong_secret():
    h = signed()
    h[signing.SIGNATURE] = '0' * 64
    with pytest.raises(SignatureError, match='bad peer signature'):
        check(h)
    with pytest.raises(SignatureError, match='bad peer signature'):
        check(signed(secret='not-the-shared-secret'))
    h = signed()
    h[signing.SIGNATURE] = 'é' * 10  # non-ascii never crashes
    with pytest.raises(SignatureError):
        check(h)


def test_replayed_nonce():
    nonces = NonceCache()
    h = signed()
    check(h, nonces=nonces)
    with pytest.raises(SignatureError, match='replayed'):
        check(h, nonces=nonces)


def test_forged_request_does_not_use_up_the_nonce():
    nonces = NonceCache()
    h = signed()
    forged = HeaderKeyDict(h)
    forged[signing.SIGNATURE] = 'f' * 64
    with pytest.raises(SignatureError):
        check(forged, nonces=nonces)
    assert check(h, nonces=nonces) == ('c1', '')


@pytest.mark.parametrize('skew', [61, -61, 3600])
def test_expired_or_skewed(skew):
    with pytest.raises(SignatureError, match='window'):
        check(signed(), now=NOW + skew)


def test_within_window_both_ways():
    assert check(signed(), now=NOW - 59)[0] == 'c1'
    assert check(signed(), now=NOW + 59)[0] == 'c1'


@pytest.mark.parametrize('header', [signing.PEER, signing.TIMESTAMP,
                                    signing.NONCE, signing.SIGNATURE])
def test_missing_header(header):
    h = signed()
    del h[header]
    with pytest.raises(SignatureError, match='incomplete'):
        check(h)


def test_unknown_or_self_peer():
    with pytest.raises(SignatureError, match='unknown peer'):
        check(signed(sender='c9'))
    with pytest.raises(SignatureError, match='unknown peer'):
        check(signed(sender='c2'))


@pytest.mark.parametrize('ts', ['nan', 'inf', 'soon', ''])
def test_bad_timestamp(ts):
    h = signed()
    h[signing.TIMESTAMP] = ts
    with pytest.raises(SignatureError):
        check(h)


def test_is_peer_claim():
    def environ(headers):
        return Request.blank('/v1/a', headers=headers).environ
    assert signing.is_peer_claim(environ({'X-Swiftsync-Peer': 'c1'}))
    assert signing.is_peer_claim(environ(
        {'x-swiftsync-peer-signature': 'x'}))
    assert not signing.is_peer_claim(environ({'X-Auth-Token': 't'}))


def test_errors_never_show_secret_or_signature():
    h = signed(secret='not-the-shared-secret')
    with pytest.raises(SignatureError) as e:
        check(h)
    assert SECRET not in str(e.value)
    assert h[signing.SIGNATURE] not in str(e.value)


class FakeMemcache(object):
    def __init__(self, fail=False):
        self.values = {}
        self.fail = fail

    def incr(self, key, delta=1, time=0):
        if self.fail:
            raise OSError('memcache down')
        self.values[key] = self.values.get(key, 0) + delta
        return self.values[key]


def test_nonce_cache_memcache_and_fallback():
    mc = FakeMemcache()
    cache = NonceCache(mc)
    assert cache.add('a', 10) is True
    assert cache.add('a', 10) is False
    assert list(mc.values) == ['swiftsync/nonce/a']
    down = NonceCache(FakeMemcache(fail=True))
    assert down.add('b', 10) is True
    assert down.add('b', 10) is False


def test_nonce_seen_while_memcache_was_down_stays_refused():
    mc = FakeMemcache(fail=True)
    cache = NonceCache(mc)
    assert cache.add('c', 10) is True
    mc.fail = False  # memcached is back, empty
    assert cache.add('c', 10) is False
    assert cache.add('d', 10) is True
    assert mc.values == {'swiftsync/nonce/c': 1, 'swiftsync/nonce/d': 1}


def test_nonce_cache_lru_bound_and_expiry(monkeypatch):
    cache = NonceCache(max_entries=3)
    for n in 'abcd':
        assert cache.add(n, 10)
    assert cache.add('a', 10)  # evicted, so new again
    clock = [1000.0]
    monkeypatch.setattr(signing.time, 'time', lambda: clock[0])
    cache = NonceCache()
    assert cache.add('x', 5)
    assert not cache.add('x', 5)
    clock[0] += 6
    assert cache.add('x', 5)


NAMES = ['é', 'ö x%20?.txt', '日本語', '😀 emoji', 'a+b;c#d', '%', '\u00a0']


@pytest.mark.parametrize('name', NAMES)
def test_non_ascii_path_verifies_as_the_peer_sees_it(name):
    from swift.common.swob import Request, str_to_wsgi, wsgi_quote
    sent = str_to_wsgi('/v1/AUTH_test/cont/' + name)  # as in PATH_INFO
    h = signed(method='HEAD', path=sent)
    # on the wire the path is quoted; the peer's proxy unquotes it
    seen = Request.blank(wsgi_quote(sent)).path_info
    assert seen == sent
    assert check(h, method='HEAD', path=seen) == ('c1', '')


@pytest.mark.parametrize('name', NAMES)
def test_signed_path_of_a_container_header(name):
    from swift.common.swob import str_to_wsgi, wsgi_quote
    wsgi = str_to_wsgi(name)
    h = {signing.CONTAINER: wsgi_quote(wsgi)}
    assert signing.signed_path('/v1/AUTH_test', h) == \
        '/v1/AUTH_test/' + wsgi
    assert signing.signed_path('/v1/AUTH_test/x', {}) == '/v1/AUTH_test/x'


@pytest.mark.parametrize('value', ['', 'a%2Fb', 'a/b'])
def test_signed_path_refuses_a_bad_container_header(value):
    with pytest.raises(SignatureError):
        signing.signed_path('/v1/AUTH_test', {signing.CONTAINER: value})


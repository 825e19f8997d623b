"""Scenario 7: fuzzing a real proxy with every filter in its pipeline.

Hypothesis generates container opt-in headers (``X-Container-Cloud-Sync-*``),
placement headers, container-sync headers, object names (any unicode,
``%``, ``?``, ``#``, spaces, control characters, invalid UTF-8, over the
length limit) and listing parameters, and sends them with ``http.client``
to two autosync clusters, one of them with an archive-mode container whose
objects live in SeaweedFS (so the shunt's read-through and listing merge
run). Never a 5xx, never a traceback; a refusal is a 4xx with a reason;
what is accepted reads back the same on every cluster.
"""

import json
import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from swiftsync import config, stores
from test.chaos import raw
from test.chaos.conftest import chaos_deployment, scaled, secret

STATS = raw.Stats()
FUZZ = settings(max_examples=scaled(40, 300), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
ACCOUNT = 'AUTH_test'
TARGETS = ('s3', 'c2')   # [target:NAME] of c1's operator file
CLUSTERS = ('c1', 'c2')
TRUE = ('true', 'yes', 'on', '1', 't', 'y')
FALSE = ('false', 'no', 'off', '0', 'f', 'n')
# the archived container's fixed names, for the listing model
LOCAL_NAMES = ['a', 'dir/local', 'm\u00e9lange', 'z z']
REMOTE_NAMES = ['b', 'dir/remote', 'dir/sub/deep', '\u00e9t\u00e9 %41?#',
                'x\ty', 'zz/\u2603', 'a']   # 'a' also local: listed once


class World(raw.Clusters):
    """The deployment and what the scenario set up on it."""

    def __init__(self, dep):
        super().__init__(dep)
        self.token = {n: raw.auth(c)[1] for n, c in self.c.items()}
        tag = uuid.uuid4().hex[:6]
        self.arch = 'fz-arch-' + tag     # listing model: fixed names
        self.arch_w = 'fz-archw-' + tag  # object-name fuzz writes here
        self.mirror = 'fz-mirror-' + tag
        self.placed = 'fz-placed-' + tag  # on c2 only
        self.optin = 'fz-optin-' + tag
        self.synck = 'fz-sk-' + tag

    def req(self, cluster, method, path, headers=(), body=None, token=True):
        h = list(headers.items() if isinstance(headers, dict) else headers)
        if token:
            h.append(('X-Auth-Token', self.token[cluster]))
        return raw.request(self.url[cluster], method, path, h, body,
                           stats=STATS)

    def ok(self, cluster, method, path, headers=(), body=None):
        r = self.req(cluster, method, path, headers, body)
        assert r.status // 100 == 2, (method, path, r)
        return r


@pytest.fixture(scope='module')
def world(tmp_path_factory, figures):
    dep = chaos_deployment(tmp_path_factory, 'fuzz', clusters=2,
                           replicas=1, s3='seaweedfs')
    try:
        w = World(dep)
        p = lambda c: raw.opath(ACCOUNT, c)  # noqa: E731
        for cont in (w.arch, w.arch_w):
            w.ok('c1', 'PUT', p(cont), {
                'X-Container-Cloud-Sync-Target': 's3',
                'X-Container-Cloud-Sync-Mode': 'archive',
                'X-Container-Cloud-Sync-After': '99999999',
                'X-Container-Cloud-Sync-Delete': 'true'})
        w.ok('c1', 'PUT', p(w.mirror))
        w.ok('c1', 'PUT', p(w.placed), {'X-Container-Placement': 'c2'})
        w.ok('c1', 'PUT', p(w.optin))
        w.ok('c1', 'PUT', p(w.synck))
        conf = config.load(w.c['c1']['swiftsync_conf'])
        store = stores.open_store(conf.target('s3'), ACCOUNT, w.arch)
        for name in REMOTE_NAMES:
            raw.put_remote(store, name, ('remote ' + name).encode())
        for name in LOCAL_NAMES:
            w.ok('c1', 'PUT', raw.opath(ACCOUNT, w.arch, name),
                 body=('local ' + name).encode())
        yield w
    finally:
        dep.down()
        figures.record('fuzz', requests=STATS.requests,
                       by_status=STATS.figures(),
                       server_errors=STATS.server_errors,
                       examples_per_test=scaled(40, 300))


# -- strategies ---------------------------------------------------------------

def header_value(choices):
    """A header value: a meaningful one (any case, padded) or noise."""
    meaningful = st.builds(
        lambda v, upper, pad: (' ' * pad) + (v.upper() if upper else v) +
        (' ' * pad), st.sampled_from(choices), st.booleans(),
        st.integers(0, 2))
    noise = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2fff,
                                  blacklist_categories=('Cs',)),
                    max_size=40)
    return one_line(st.one_of(meaningful, noise, st.sampled_from(
        ['', ' ', '-1', '1e3', '0x10', 'nan', '\u00e9', '%00', '1.5.5'])))


def one_line(strategy):
    """Header values: CR and LF would end the header (not sendable)."""
    return strategy.map(lambda v: v.replace('\r', ' ').replace('\n', ' '))


def wire(value):
    """What the server sees of a str header value we send as UTF-8."""
    return value.encode('utf-8').decode('latin-1')


def controls(value):
    return any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in value)


NAME_ALPHABET = st.characters(blacklist_categories=('Cs',))
SPECIALS = ['%', '%25', '%zz', '?', '#', ' ', 'a b', '..', '.', 'a/../b',
            '/lead', 'trail/', '//', '\x00', '\x01\x7f', '\u202e', '\ufeff',
            '\U0001f600', 'a' * 1024, 'a' * 1025, '\u00e9' * 512,
            '\u00e9' * 513, '?multipart-manifest=get', 'x%2Fy', '+', '&=;']


@st.composite
def object_names(draw):
    """(name bytes, send '%' raw?) -- valid UTF-8 or not."""
    kind = draw(st.sampled_from(['text', 'text', 'special', 'long',
                                 'bytes']))
    if kind == 'text':
        name = draw(st.text(NAME_ALPHABET, min_size=1,
                            max_size=60)).encode('utf-8')
    elif kind == 'special':
        name = (draw(st.sampled_from(SPECIALS)) + draw(st.text(
            NAME_ALPHABET, max_size=5))).encode('utf-8')
    elif kind == 'long':
        name = draw(st.text(NAME_ALPHABET, min_size=300,
                            max_size=700)).encode('utf-8')
    else:
        name = draw(st.binary(min_size=1, max_size=40))
    return name, draw(st.booleans()) and draw(st.booleans())


def quoted(name, raw_percent):
    return quote(name, safe='/%' if raw_percent else '/')


def name_valid(name, raw_percent):
    """Whether Swift will take this object name (None: not sure)."""
    if raw_percent and b'%' in name:
        return None  # the server's unquoting decides
    try:
        text = name.decode('utf-8')
    except UnicodeDecodeError:
        return False
    if '\x00' in text:
        return False
    if len(text) > 1024:
        return False  # Swift counts characters (native strings)
    if text.startswith('/') or '/./' in '/' + text + '/' or \
            '/../' in '/' + text + '/':
        return None
    return True


# -- opt-in headers -----------------------------------------------------------

OPTIN_VALUES = {
    'target': list(TARGETS) + ['', 'nope', 's3 ', 'S3'],
    'mode': ['sync', 'archive', '', 'both'],
    'after': ['0', '86400', '1.5', '', '-1', '5m'],
    'delete': list(TRUE + FALSE) + [''],
    'merge': list(TRUE + FALSE) + [''],
    'restore': list(TRUE + FALSE) + [''],
}


def optin_valid(sent):
    """Independent model of the opt-in rules (doc/sync.rst)."""
    v = {k: wire(x).strip() for k, x in sent.items()}
    if 'target' in v:
        if v['target'] == '':
            return True  # off: the rest is cleared, not checked
        if v['target'] not in TARGETS:
            return False
    if 'mode' in v and v['mode'].lower() not in ('', 'sync', 'archive'):
        return False
    if 'after' in v and v['after'] and \
            not re.match(r'^\d+(\.\d+)?$', v['after']):
        return False
    for key in ('delete', 'merge', 'restore'):
        if key in v and v[key] and v[key].lower() not in TRUE + FALSE:
            return False
    return True


@FUZZ
@given(sent=st.dictionaries(st.sampled_from(sorted(OPTIN_VALUES)),
                            st.text(max_size=0), min_size=1),
       data=st.data(), method=st.sampled_from(['PUT', 'POST']))
def test_optin_headers(world, sent, data, method):
    sent = {k: data.draw(header_value(OPTIN_VALUES[k]), label=k)
            for k in sent}
    headers = [('X-Container-Cloud-Sync-' + k.capitalize(),
                v.encode('utf-8')) for k, v in sent.items()]
    path = raw.opath(ACCOUNT, world.optin)
    r = world.req('c1', method, path, headers)
    raw.assert_clean(r, 'opt-in %r' % sent)
    if any(controls(wire(v)) for v in sent.values()):
        assert r.status in (201, 202, 204, 400), r
        return
    expected = optin_valid(sent)
    if expected:
        assert r.status in (201, 202, 204), (sent, r)
    else:
        assert r.status == 400, (sent, r)
        assert b'X-Container-Cloud-Sync-' in r.body, r
    if expected and wire(sent.get('target', '')).strip():
        head = world.req('c1', 'HEAD', path)
        assert head.headers.get('x-container-cloud-sync-target') == \
            wire(sent['target']).strip(), (sent, head.headers)


# -- placement ----------------------------------------------------------------

def placement_valid(value):
    names = [n.strip() for n in wire(value).split(',') if n.strip()]
    if not names:
        return None
    include, exclude = set(), set()
    for n in names:
        bare = n[1:] if n.startswith('-') else n
        if bare not in CLUSTERS:
            return None
        (exclude if n.startswith('-') else include).add(bare)
    chosen = (include or set(CLUSTERS)) - exclude
    return sorted(chosen) or None


placement_values = one_line(st.one_of(
    st.lists(st.sampled_from(['c1', 'c2', '-c1', '-c2', 'c3', '', ' ',
                              '--c1', 'C1', ' c2 ', 'c1c2', '\u00e9']),
             max_size=4).map(','.join),
    st.text(max_size=30)))


@FUZZ
@given(value=placement_values, method=st.sampled_from(['PUT', 'PUT', 'POST']))
def test_placement_header(world, value, method):
    cont = 'fz-pl-' + uuid.uuid4().hex[:10]
    if method == 'POST':
        cont = world.mirror
    path = raw.opath(ACCOUNT, cont)
    r = world.req('c1', method, path,
                  [('X-Container-Placement', value.encode('utf-8'))])
    raw.assert_clean(r, 'placement %r' % value)
    if controls(wire(value)):
        assert r.status in (201, 202, 400), r
        if r.status == 201:
            world.ok('c1', 'DELETE', path)
        return
    if method == 'POST':
        assert r.status == 400 and b'only be set on PUT' in r.body, r
        return
    expected = placement_valid(value)
    if expected is None:
        assert r.status == 400, (value, r)
        assert b'X-Container-Placement' in r.body, r
        return
    assert r.status == 201, (value, r)
    assert r.headers['x-container-placement'] == ','.join(expected)
    for name in CLUSTERS:
        head = world.req(name, 'HEAD', path, [('X-Swiftsync-Local-Only',
                                               'yes')])
        assert head.status == (204 if name in expected else 404), \
            (value, name, head)
        # the container's databases forget it once deleted: the final
        # search looks for it still
        secret(head.headers.get('x-container-sync-key'))
    d = world.req('c1', 'DELETE', path)
    assert d.status == 204, d


# -- container-sync headers (sync_keys, container_sync) -----------------------

sync_to_values = one_line(st.one_of(st.sampled_from([
    '', '//dev/c2/AUTH_test/fz-target', '//dev/c9/AUTH_test/x',
    '//nope/c2/AUTH_test/x', '//dev/c2', 'http://127.0.0.1:1/v1/AUTH_test/x',
    '//dev/c2/AUTH_test/\u00e9%20?', 'ftp://x', '//']),
    st.text(max_size=40)))
key_values = st.one_of(st.none(), st.just(''),
                       one_line(st.text(max_size=60)),
                       st.sampled_from(['k' * 43, 'short']))


@FUZZ
@given(sync_to=sync_to_values, key=key_values,
       auth=st.one_of(one_line(st.text(max_size=80)), st.builds(
           lambda n, t, s: '%s %s %s' % (n, t, s),
           st.text('0123456789abcdef', min_size=1, max_size=40),
           st.sampled_from(['1', '1700000000.00000', 'x']),
           st.text('0123456789abcdef', min_size=0, max_size=64))))
def test_sync_key_headers(world, sync_to, key, auth):
    path = raw.opath(ACCOUNT, world.synck)
    headers = [('X-Container-Sync-To', sync_to.encode('utf-8'))]
    if key is not None:
        headers.append(('X-Container-Sync-Key', key.encode('utf-8')))
    r = world.req('c1', 'POST', path, headers)
    raw.assert_clean(r, 'sync headers %r %r' % (sync_to, key))
    assert r.status in (204, 400), r
    # an inbound container-sync request with a made-up signature
    r = world.req('c1', 'PUT', raw.opath(ACCOUNT, world.synck, 'fz'),
                  [('X-Container-Sync-Auth', auth.encode('utf-8')),
                   ('X-Timestamp', '1700000000.00000')], body=b'x',
                  token=False)
    raw.assert_clean(r, 'sync auth %r' % auth)
    assert r.status in (400, 401), r


# -- object names -------------------------------------------------------------

def put_get_everywhere(world, cont, name, raw_percent, writer, readers):
    path = '/v1/%s/%s/%s' % (ACCOUNT, quote(cont, safe=''),
                             quoted(name, raw_percent))
    body = b'fz ' + uuid.uuid4().hex.encode()
    r = world.req(writer, 'PUT', path, body=body)
    raw.assert_clean(r, 'PUT %r' % name)
    valid = name_valid(name, raw_percent)
    if valid is False:
        assert r.status in (400, 412), (name, r)
    elif valid:
        assert r.status == 201, (name, r)
    else:
        assert r.status in (201, 400, 412), (name, r)
    if r.status != 201:
        return None, None
    for reader in readers:
        g = world.req(reader, 'GET', path)
        raw.assert_clean(g, 'GET %r' % name)
        assert (g.status, g.body) == (200, body), (reader, name, g)
    return path, g


@pytest.mark.parametrize('kind,reader,served_by', [
    # written on c1, read at once on c2: autosync's read-through, a signed
    # peer request for the very same name
    ('mirror', 'c2', ('x-swiftsync-read-through', 'c1')),
    # a container held by c2 only, used through c1: forwarded
    ('placed', 'c1', ('x-swiftsync-forwarded-to', 'c2'))])
@FUZZ
@given(name=object_names())
def test_object_names_across_clusters(world, kind, reader, served_by, name):
    name, raw_percent = name
    path, got = put_get_everywhere(world, getattr(world, kind), name,
                                   raw_percent, 'c1', [reader])
    if path:
        assert got.headers.get(served_by[0]) == served_by[1], got
        assert world.req('c1', 'DELETE', path).status == 204


@FUZZ
@given(name=object_names(), method=st.sampled_from(
    ['GET', 'HEAD', 'POST', 'DELETE']), meta=st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20))
# names SeaweedFS refuses as keys: the remote has no such object (404)
@example(name=(b'..', False), method='GET', meta='')
@example(name=(b'a/./b', False), method='DELETE', meta='')
def test_object_names_archived(world, name, method, meta):
    """The shunt's paths: a name missing locally is looked up remotely
    (GET/HEAD/POST/DELETE), a local one is served as usual."""
    name, raw_percent = name
    seen = unquote_to_bytes(name) if raw_percent else name  # by Swift
    if seen.decode('utf-8', 'replace') not in LOCAL_NAMES + REMOTE_NAMES:
        # (those are the listing model's: left alone)
        missing = '/v1/%s/%s/%s' % (ACCOUNT, world.arch,
                                    quoted(name, raw_percent))
        r = world.req('c1', method, missing, [('X-Object-Meta-Fz', meta)])
        raw.assert_clean(r, '%s missing %r' % (method, name))
        assert r.status in (400, 404, 412), (name, r)
    path, _ = put_get_everywhere(world, world.arch_w, name, raw_percent,
                                 'c1', ['c1'])
    if path:
        r = world.req('c1', method, path, [('X-Object-Meta-Fz', meta)])
        assert r.status == {'GET': 200, 'HEAD': 200, 'POST': 202,
                            'DELETE': 204}[method], r


# -- listing parameters -------------------------------------------------------

param_text = st.one_of(
    st.text(st.characters(blacklist_categories=('Cs',)), max_size=12),
    st.sampled_from(['a', 'b', 'dir', 'dir/', 'z', '\u00e9', '%', '/',
                     'zz/', 'dir/sub/']))
LISTING_PARAMS = {
    'marker': param_text, 'end_marker': param_text, 'prefix': param_text,
    'delimiter': st.one_of(st.sampled_from(['/', 'r', '', '//', '\u00e9']),
                           st.text(max_size=2)),
    'limit': st.one_of(st.integers(-3, 10005).map(str),
                       st.sampled_from(['', '0', '1', '2', '1e2', ' 3',
                                        'x', '9' * 30])),
    'reverse': st.sampled_from(['true', 'on', '1', 'false', '', 'xyz',
                                'TRUE']),
    'format': st.sampled_from(['json', 'xml', 'plain', 'txt', '', 'JSON',
                               'application/json', 'x']),
    'path': param_text,
}


@st.composite
def listing_queries(draw):
    keys = draw(st.lists(st.sampled_from(sorted(LISTING_PARAMS)),
                         unique=True, max_size=5))
    params = {k: draw(LISTING_PARAMS[k], label=k) for k in keys}
    broken = draw(st.sampled_from([None] * 6 + ['%ff', '%00', '%', '&&=']))
    return params, broken


def query_string(params, broken):
    parts = ['%s=%s' % (k, quote(v.encode('utf-8'), safe=''))
             for k, v in params.items()]
    if broken:
        parts.append('marker=' + broken if broken != '&&=' else broken)
    return '?' + '&'.join(parts) if parts else ''


def model(params):
    """The archived container's json listing (no delimiter, no path)."""
    names = sorted(set(LOCAL_NAMES) | set(REMOTE_NAMES))
    prefix = params.get('prefix', '')
    marker = params.get('marker', '')
    end = params.get('end_marker', '')
    reverse = params.get('reverse', '').lower() in TRUE
    out = [n for n in names if n.startswith(prefix)]
    if reverse:
        out.reverse()
        out = [n for n in out if (not marker or n < marker) and
               (not end or n > end)]
    else:
        out = [n for n in out if n > marker and (not end or n < end)]
    limit = params.get('limit', '')
    return out[:int(limit)] if limit else out


def listing_checks(r, params, broken, modelled):
    if r.status == 204:
        entries = []
    elif r.status != 200:
        assert r.status in (400, 406, 412), r
        return
    elif 'json' in r.headers.get('content-type', ''):
        entries = json.loads(r.body)
        assert isinstance(entries, list), r
    elif 'xml' in r.headers.get('content-type', ''):
        ET.fromstring(r.body)
        return
    else:
        return
    names = [e.get('name', e.get('subdir')) for e in entries]
    reverse = params.get('reverse', '').lower() in TRUE
    assert len(names) == len(set(names)), names
    assert names == sorted(names, reverse=reverse), names
    limit = params.get('limit', '')
    if limit.isdigit() and not broken:
        assert len(names) <= int(limit), names
    if modelled and not broken:
        assert [e['name'] for e in entries] == model(params), (params,
                                                              entries)
        for e in entries:
            remote_only = e['name'] not in LOCAL_NAMES
            assert ('content_location' in e) == remote_only, e


def limit_ok(params):
    limit = params.get('limit')
    return limit is None or limit == '' or (
        limit.isdigit() and int(limit) <= 10000)


@FUZZ
@given(query=listing_queries())
# an empty merged account listing is still json
@example(query=({'format': 'json', 'end_marker': '0'}, None))
@example(query=({'end_marker': '0'}, None))
def test_listing_parameters(world, query):
    params, broken = query
    qs = query_string(params, broken)
    targets = [('c1', raw.opath(ACCOUNT, world.arch)),    # shunt merge
               ('c2', raw.opath(ACCOUNT, world.mirror)),  # mirrored
               ('c1', raw.opath(ACCOUNT, world.placed)),  # forwarded
               ('c1', '/v1/' + ACCOUNT)]                  # account merge
    modelled = (not set(params) & {'delimiter', 'path'} and
                params.get('format', 'json') in ('json', '') and
                limit_ok(params) and
                not any('\x00' in v for v in params.values()))
    for i, (cluster, path) in enumerate(targets):
        r = world.req(cluster, 'GET', path + qs)
        raw.assert_clean(r, 'GET %s%s' % (path, qs))
        if not broken and limit_ok(params) and not any(
                '\x00' in v for v in params.values()):
            assert r.status in (200, 204, 406), (path, qs, r)
        listing_checks(r, params, broken, modelled and i == 0 and
                       params.get('format') == 'json')


# -- the proxies' own view ----------------------------------------------------

def test_no_traceback_in_proxy_logs(world):
    """Nothing the fuzzing sent made a filter raise (an exception after
    the response started would not show as a 5xx)."""
    import os
    found = []
    for name in CLUSTERS:
        path = os.path.join(world.dep.workdir, 'log', name + '-proxy.log')
        with open(path, 'rb') as f:
            text = f.read()
        for m in re.finditer(rb'Traceback \(most recent call last\)', text):
            found.append((name, text[max(0, m.start() - 300):
                                     m.start() + 2000]
                          .decode('utf-8', 'replace')))
    assert not found, found[0]
    assert STATS.server_errors == 0, STATS.figures()

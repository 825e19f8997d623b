"""Scenario 8: who may read what, on two autosync clusters with every
filter, an archive-mode container in SeaweedFS and short-lived tokens.

Three kinds of data, each holding a payload no attacker may see:

* ``archived``: an object only in the remote store (the shunt serves it);
* ``mirrored``: an object written on c1, read on c2 (autosync's
  read-through asks c1 with a signed peer request);
* ``placed``: a container held by c2 only, used through c1 (forwarded).

Anonymous, other-account, expired-token, made-up-token, revoked-ACL,
write-ACL, bad-tempurl and peer-signature requests (unsigned, forged, wrong
secret, expired, from the future, replayed, for another path or method,
unknown or self peer) must all get Swift's 401/403 and nothing of the
payload; the owner, a granted ACL and a good tempurl read it.
"""

import hashlib
import hmac
import json
import re
import time
import uuid

import pytest

from swiftsync import config, signing, stores
from test.chaos import raw
from test.chaos.conftest import capture, chaos_deployment, secret

ACCOUNT = 'AUTH_test'
TOKEN_LIFE = 4  # seconds: tempauth's token_life on both proxies
STATS = raw.Stats()
TALLY = {'attacks': 0, 'denied': 0, 'leaked': 0}
KINDS = ('archived', 'mirrored', 'placed')


class Target(object):
    """One object an attacker wants: where to ask and what must not leak."""

    def __init__(self, kind, cluster, holder, container, obj, payload):
        self.kind = kind
        self.cluster = cluster    # where the client asks
        self.holder = holder      # the cluster holding the data
        self.container = container
        self.obj = obj
        self.payload = payload
        self.meta = 'meta-' + uuid.uuid4().hex

    @property
    def lister(self):
        """Where the container listing shows the object: objects are not
        synced here (no container-sync daemon runs), only read through."""
        return self.holder if self.kind == 'mirrored' else self.cluster

    @property
    def cpath(self):
        return raw.opath(ACCOUNT, self.container)

    @property
    def path(self):
        return raw.opath(ACCOUNT, self.container, self.obj)

    def leaks(self, resp):
        text = resp.text()
        return any(s in text for s in (self.payload, self.meta, self.obj))


class World(raw.Clusters):
    def __init__(self, dep):
        super().__init__(dep)
        self.conf = config.load(self.c['c1']['swiftsync_conf'])
        self.targets = {}
        self._tokens = {}

    def token(self, cluster, user=1):
        """A token with at least 2 s of life left."""
        tok, expires = self._tokens.get((cluster, user), (None, 0))
        if expires - time.time() < 2:
            if expires > time.time():
                time.sleep(expires - time.time() + 0.2)
            suffix = '' if user == 1 else str(user)
            c = self.c[cluster]
            r = raw.request(self.url[cluster], 'GET', '/auth/v1.0', {
                'X-Auth-User': c['user' + suffix],
                'X-Auth-Key': c['key' + suffix]})
            assert r.status == 200, r
            tok = r.headers['x-auth-token']
            life = int(r.headers['x-auth-token-expires'])
            assert life <= TOKEN_LIFE, r.headers
            expires = time.time() + life
            self._tokens[(cluster, user)] = (tok, expires)
        return tok

    def req(self, cluster, method, path, headers=(), body=None, user=1):
        h = list(headers.items() if isinstance(headers, dict) else headers)
        if user:
            h.append(('X-Auth-Token', self.token(cluster, user)))
        return raw.request(self.url[cluster], method, path, h, body)

    def ok(self, cluster, method, path, headers=(), body=None):
        r = self.req(cluster, method, path, headers, body)
        assert r.status // 100 == 2, (method, path, r)
        return r

    def pair_secret(self, receiver, sender):
        return config.load(self.c[receiver]['swiftsync_conf']).clusters[
            sender].secret


def set_token_life(dep, seconds):
    """tempauth's token_life in both proxy confs; proxies restarted, and
    memcached, where the tokens issued at start-up live on."""
    for c in dep.env['clusters']:
        path = c['proxy_conf']
        with open(path) as f:
            text = f.read()
        text = re.sub(r'(\[filter:tempauth\]\n)',
                      r'\1token_life = %d\n' % seconds, text)
        with open(path, 'w') as f:
            f.write(text)
        names = [c['name'] + '-memcached', c['name'] + '-proxy']
        dep.procs.stop(names)
        for name in names:
            dep.restart(name)


@pytest.fixture(scope='module')
def world(tmp_path_factory, figures):
    dep = chaos_deployment(tmp_path_factory, 'security', clusters=2,
                           replicas=1, s3='seaweedfs')
    try:
        set_token_life(dep, TOKEN_LIFE)
        w = World(dep)
        tag = uuid.uuid4().hex[:6]
        # archived: an object in the remote store only
        arch = 'sec-arch-' + tag
        w.ok('c1', 'PUT', raw.opath(ACCOUNT, arch), {
            'X-Container-Cloud-Sync-Target': 's3',
            'X-Container-Cloud-Sync-Mode': 'archive',
            'X-Container-Cloud-Sync-After': '99999999'})
        t = Target('archived', 'c1', 'c1', arch, 'arch-' + uuid.uuid4().hex,
                   'payload-' + uuid.uuid4().hex)
        raw.put_remote(stores.open_store(w.conf.target('s3'), ACCOUNT, arch),
                       t.obj, t.payload.encode(), meta={'secret': t.meta})
        w.targets['archived'] = t
        # mirrored: written on c1, read through on c2
        mirror = 'sec-mirror-' + tag
        w.ok('c1', 'PUT', raw.opath(ACCOUNT, mirror))
        t = Target('mirrored', 'c2', 'c1', mirror, 'mir-' + uuid.uuid4().hex,
                   'payload-' + uuid.uuid4().hex)
        w.ok('c1', 'PUT', t.path, {'X-Object-Meta-Secret': t.meta},
             t.payload.encode())
        w.targets['mirrored'] = t
        # placed elsewhere: on c2 only, used through c1
        placed = 'sec-placed-' + tag
        w.ok('c1', 'PUT', raw.opath(ACCOUNT, placed),
             {'X-Container-Placement': 'c2'})
        t = Target('placed', 'c1', 'c2', placed, 'pl-' + uuid.uuid4().hex,
                   'payload-' + uuid.uuid4().hex)
        w.ok('c2', 'PUT', t.path, {'X-Object-Meta-Secret': t.meta},
             t.payload.encode())
        w.targets['placed'] = t
        # tempurl: the account key, mirrored to c2 by autosync
        w.tempurl_key = secret('tuk-' + uuid.uuid4().hex)
        w.ok('c1', 'POST', '/v1/' + ACCOUNT,
             {'X-Account-Meta-Temp-URL-Key': w.tempurl_key})
        yield w
    finally:
        dep.down()
        figures.record('security', requests=TALLY['attacks'],
                       denied=TALLY['denied'], leaked=TALLY['leaked'],
                       by_status=STATS.figures())


def attack(world, target, method, cluster=None, path=None, headers=(),
           user=None, body=None, expect=(401, 403)):
    """One request that must be refused without a trace of the target."""
    cluster = cluster or target.cluster
    r = world.req(cluster, method, path or target.path, headers, body,
                  user=user)
    STATS.by_status[r.status] += 1
    TALLY['attacks'] += 1
    leaked = target.leaks(r) or r.status // 100 == 2
    TALLY['leaked'] += leaked
    TALLY['denied'] += r.status in (401, 403)
    raw.assert_clean(r, '%s %s' % (method, target.kind))
    assert not leaked, (target.kind, method, r)
    assert r.status in expect, (target.kind, method, r)
    return r


def owner_reads(world, target):
    r = world.req(target.cluster, 'GET', target.path)
    assert (r.status, r.body) == (200, target.payload.encode()), r
    assert r.headers.get('x-object-meta-secret') == target.meta
    return r


# -- the owner reads everything (what the attacks must not get) ---------------

@pytest.mark.parametrize('kind', KINDS)
def test_owner_reads(world, kind):
    t = world.targets[kind]
    r = owner_reads(world, t)
    marker = {'archived': ('x-cloud-sync-location', 's3'),
              'mirrored': ('x-swiftsync-read-through', 'c1'),
              'placed': ('x-swiftsync-forwarded-to', 'c2')}[kind]
    assert r.headers.get(marker[0]) == marker[1], r.headers
    r = world.req(t.lister, 'GET', t.cpath + '?format=json')
    assert t.obj in [e['name'] for e in json.loads(r.body)], r


# -- clients without the right ------------------------------------------------

OBJECT_METHODS = ('GET', 'HEAD', 'POST', 'DELETE')


@pytest.mark.parametrize('kind', KINDS)
def test_anonymous(world, kind):
    t = world.targets[kind]
    for method in OBJECT_METHODS:
        attack(world, t, method, expect=(401,))
    attack(world, t, 'GET', cluster=t.lister, path=t.cpath + '?format=json',
           expect=(401,))
    attack(world, t, 'GET', path='/v1/%s?format=json' % ACCOUNT,
           expect=(401,))
    owner_reads(world, t)


@pytest.mark.parametrize('kind', KINDS)
def test_other_account(world, kind):
    t = world.targets[kind]
    for method in OBJECT_METHODS:
        attack(world, t, method, user=2, expect=(403,))
    for method in ('GET', 'HEAD', 'POST', 'DELETE'):
        attack(world, t, method, cluster=t.lister, path=t.cpath + (
            '?format=json' if method == 'GET' else ''), user=2,
            expect=(403,))
    attack(world, t, 'GET', path='/v1/%s?format=json' % ACCOUNT, user=2,
           expect=(403,))
    owner_reads(world, t)


def test_expired_and_made_up_tokens(world):
    """A token that worked stops working once tempauth's token_life is
    over; a token nobody issued never works."""
    tokens = {}
    for kind in KINDS:
        t = world.targets[kind]
        tok = world.token(t.cluster)
        tokens[kind] = (tok, world._tokens[(t.cluster, 1)][1])
        r = raw.request(world.url[t.cluster], 'GET', t.path,
                        {'X-Auth-Token': tok})
        assert r.status == 200 and r.body == t.payload.encode(), r
    time.sleep(max(e for _, e in tokens.values()) - time.time() + 0.5)
    for kind in KINDS:
        t = world.targets[kind]
        tok = tokens[kind][0]
        for method in OBJECT_METHODS:
            attack(world, t, method, headers={'X-Auth-Token': tok},
                   expect=(401,))
        attack(world, t, 'GET', path=t.cpath + '?format=json',
               headers={'X-Auth-Token': tok}, expect=(401,))
        for bogus in ('AUTH_tk' + uuid.uuid4().hex, 'x' * 64, tok[:-1]):
            attack(world, t, 'GET', headers={'X-Auth-Token': bogus},
                   expect=(401,))
        owner_reads(world, t)


@pytest.mark.parametrize('kind', KINDS)
def test_read_acl_granted_then_revoked(world, kind):
    t = world.targets[kind]
    # granted through the cluster the client uses (mirrored/forwarded)
    world.ok(t.cluster, 'POST', t.cpath,
             {'X-Container-Read': 'test2:tester2'})
    r = world.req(t.cluster, 'GET', t.path, user=2)
    assert (r.status, r.body) == (200, t.payload.encode()), r
    r = world.req(t.lister, 'GET', t.cpath + '?format=json', user=2)
    assert r.status == 200 and t.obj in r.body.decode(), r
    # a reader is not the owner: no owner-only header
    for method in ('HEAD', 'GET'):
        r = world.req(t.cluster, method, t.cpath, user=2)
        assert r.status in (200, 204), r
        shown = {k for k in r.headers if k.startswith((
            'x-container-sync-', 'x-container-cloud-sync-',
            'x-container-read', 'x-container-write',
            'x-container-placement', 'x-container-sysmeta-'))}
        assert not shown, (kind, method, r.headers)
    # a read ACL lets nobody write
    attack(world, t, 'DELETE', user=2, expect=(403,))
    attack(world, t, 'POST', path=t.cpath, user=2, expect=(403,),
           headers={'X-Container-Meta-Owned': 'yes'})
    world.ok(t.cluster, 'POST', t.cpath, {'X-Container-Read': ''})
    for method in OBJECT_METHODS:
        attack(world, t, method, user=2, expect=(403,))
    attack(world, t, 'GET', cluster=t.lister, path=t.cpath + '?format=json',
           user=2, expect=(403,))
    owner_reads(world, t)


@pytest.mark.parametrize('kind', KINDS)
def test_write_acl_is_not_ownership(world, kind):
    """As in Swift, a write ACL lets a user write objects, not change or
    delete the container, wherever the container is held."""
    t = world.targets[kind]
    world.ok(t.cluster, 'POST', t.cpath,
             {'X-Container-Write': 'test2:tester2'})
    try:
        attack(world, t, 'POST', path=t.cpath, user=2, expect=(403,),
               headers={'X-Container-Meta-Owned': 'yes',
                        'X-Container-Read': '.r:*'})
        attack(world, t, 'DELETE', path=t.cpath, user=2, expect=(403,))
        attack(world, t, 'PUT', path=t.cpath, user=2, expect=(403,),
               headers={'X-Container-Read': '.r:*'})
        attack(world, t, 'GET', user=2, expect=(403,))
        head = world.ok(t.cluster, 'HEAD', t.cpath)
        assert 'x-container-meta-owned' not in head.headers
        assert 'x-container-read' not in head.headers, head.headers
    finally:
        world.ok(t.cluster, 'POST', t.cpath, {'X-Container-Write': ''})
    owner_reads(world, t)


# -- tempurl ------------------------------------------------------------------

def tempurl(key, method, path, expires):
    sig = hmac.new(key.encode(), ('%s\n%d\n%s' % (method, expires, path))
                   .encode(), hashlib.sha256).hexdigest()
    return '%s?temp_url_sig=%s&temp_url_expires=%d' % (path, sig, expires)


@pytest.mark.parametrize('kind', KINDS)
def test_tempurl(world, kind):
    t = world.targets[kind]
    key = world.tempurl_key
    later = int(time.time() + 300)
    good = tempurl(key, 'GET', t.path, later)
    r = world.req(t.cluster, 'GET', good, user=None)
    assert (r.status, r.body) == (200, t.payload.encode()), r
    other = raw.opath(ACCOUNT, t.container, 'other-object')
    cases = [
        ('GET', t.path + '?temp_url_sig=%s&temp_url_expires=%d' % (
            '0' * 64, later)),                                   # forged
        ('GET', tempurl('not-the-key', 'GET', t.path, later)),  # wrong key
        ('GET', tempurl(key, 'GET', t.path, int(time.time()) - 5)),  # expired
        ('GET', tempurl(key, 'GET', other, later).replace(other, t.path)),
        ('DELETE', good),                                       # GET sig
        ('POST', good),
        ('PUT', good),
        ('GET', tempurl(key, 'GET', t.cpath, later)),           # listing
    ]
    for method, url in cases:
        attack(world, t, method, path=url, expect=(401,),
               body=b'overwritten' if method == 'PUT' else None)
    owner_reads(world, t)


# -- peer signatures ----------------------------------------------------------

def peer_cases(world, receiver, method, path):
    sender = 'c2' if receiver == 'c1' else 'c1'
    good = world.pair_secret(receiver, sender)

    def signed(**kw):
        return signing.sign_headers(
            kw.get('secret', good), kw.get('method', method),
            kw.get('path', path), kw.get('sender', sender), receiver,
            flags=kw.get('flags', ''), now=kw.get('now'))

    forged = signed()
    forged[signing.SIGNATURE] = 'a' * 64
    with_token = signed(secret='x' * 48)
    with_token['X-Auth-Token'] = world.token(receiver)
    unknown = signed(secret='x' * 48, sender='c9')
    return {
        'unsigned': {signing.PEER: sender},
        'no-signature': {k: v for k, v in signed().items()
                         if k != signing.SIGNATURE},
        'forged': forged,
        'wrong-secret': signed(secret='x' * 48),
        'expired': signed(now=time.time() - 120),
        'future': signed(now=time.time() + 120),
        'other-path': signed(path=path + 'x'),
        'other-method': signed(method='PUT' if method != 'PUT' else 'GET'),
        'unknown-peer': unknown,
        'self-peer': signed(sender=receiver,
                            secret=world.pair_secret(receiver, sender)),
        'forward-forged': signed(secret='x' * 48, flags='forward,owner'),
        'flags-added': dict(signed(), **{signing.FLAGS: 'forward,owner'}),
        'with-user-token': with_token,
    }


@pytest.mark.parametrize('kind', KINDS)
def test_peer_signatures(world, kind):
    t = world.targets[kind]
    wsgi_path = t.path  # ascii names: the quoted path is the WSGI one
    for receiver in sorted({t.holder, t.cluster}):
        for method in ('GET', 'HEAD', 'DELETE'):
            for case, headers in peer_cases(world, receiver, method,
                                            wsgi_path).items():
                r = attack(world, t, method, cluster=receiver,
                           headers=headers, expect=(401,))
                if method != 'HEAD':
                    assert r.body.startswith(b'autosync: '), (case, r)
    # replayed: a good peer read once, then the very same request again
    sender = 'c2' if t.holder == 'c1' else 'c1'
    headers = signing.sign_headers(world.pair_secret(t.holder, sender),
                                   'GET', wsgi_path, sender, t.holder)
    r = raw.request(world.url[t.holder], 'GET', t.path, headers)
    if kind == 'archived':
        # peers are answered from local data only, never the remote
        assert r.status == 404, r
    else:
        assert r.status == 200 and r.body == t.payload.encode(), r
    r = attack(world, t, 'GET', cluster=t.holder, headers=headers,
               expect=(401,))
    assert b'replayed' in r.body, r
    owner_reads(world, t)


# -- what the proxies publish -------------------------------------------------

def test_info_and_errors_hold_no_secret(world):
    conf = world.conf
    secrets = [world.env['realm']['key'], world.tempurl_key]
    secrets += [t.secret_key for t in conf.targets.values()
                if getattr(t, 'secret_key', None)]
    secrets += [c.secret for c in conf.clusters.values()]
    for name, url in world.url.items():
        r = raw.request(url, 'GET', '/info')
        assert r.status == 200
        info = json.loads(r.body)
        assert 'autosync' in info and 'cloud_sync' in info and \
            'sync_keys' in info, sorted(info)
        for s in secrets:
            assert s not in r.text(), (name, 'secret in /info')
    capture(json.dumps(world.env.get('filters')))


def test_figures(world):
    assert TALLY['attacks'] > 0
    assert TALLY['leaked'] == 0
    assert TALLY['denied'] == TALLY['attacks'], TALLY

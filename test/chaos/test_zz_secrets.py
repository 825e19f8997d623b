"""Scenario 8, the end: after the whole chaos session, no secret of any
deployment is in a log line or in a response a scenario captured.

The secrets are read from what each deployment left on disk: S3 secret
keys (env.json, the operator files), realm keys
(container-sync-realms.conf), autosync pair secrets (``[cluster:NAME]``),
container-sync keys, previous keys and Temp-URL keys (the account and
container databases), and what scenarios registered with
``conftest.secret()``. Searched: every file of each work dir except the
conf files, env.json and the storage devices (logs, process table, daemon
state), and every captured response. The one place a key may show is the
header Swift shows its owner (``X-Container-Sync-Key``,
``X-*-Meta-Temp-URL-Key``): the security scenario checks that nobody else
gets those.

Run alone (no other scenario brought a deployment up), it brings one up,
exercises every filter and the sync daemon on it, and searches that.
"""

import configparser
import glob
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from urllib.parse import quote

import pytest

from swiftsync import config, signing, stores
from test.chaos import conftest, raw
from test.chaos.conftest import chaos_deployment

ACCOUNT = 'AUTH_test'
#: headers Swift shows the owner with a key in them
OWNER_VISIBLE = re.compile(
    r'(x-(?:container-sync-key|(?:account|container)-meta-temp-url-key'
    r'(?:-2)?)"?\s*[:=]\s*"?)([^\s",}]+)', re.I)
#: metadata (account/container DBs) whose values are secrets
SECRET_METADATA = frozenset((
    'x-container-sync-key', 'x-container-sysmeta-swiftsync-prev-sync-key',
    'x-container-meta-temp-url-key', 'x-container-meta-temp-url-key-2',
    'x-account-meta-temp-url-key', 'x-account-meta-temp-url-key-2'))
MIN_LENGTH = 8
#: containers whose sync keys the fuzzer chose (test_fuzz.py: any text,
#: hypothesis even mines strings such as 'AUTH_test' from the sources):
#: only the keys the filters generated there are secrets
FUZZED_KEYS = ('fz-sk-',)
GENERATED_KEY = re.compile(r'^[A-Za-z0-9_-]{43}$')


def plausible(value):
    """A value worth searching for: long and varied enough not to occur by
    chance (fuzzed keys such as 'kkkk...' or '0000...' are not)."""
    return isinstance(value, str) and len(value) >= MIN_LENGTH and \
        len(set(value)) >= 6


def _ini(path):
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path)
    return parser


def secrets_of(workdir):
    """{secret: where it comes from} of one deployment's work dir."""
    found = {}

    def add(value, where):
        if plausible(value):
            found.setdefault(value, where)

    with open(os.path.join(workdir, 'env.json')) as f:
        env = json.load(f)
    add(env['realm']['key'], 'realm key')
    for name, s3 in (env.get('s3_servers') or {}).items():
        add(s3['secret_key'], 'S3 secret key (%s)' % name)
    passwords = {c[k] for c in env['clusters']
                 for k in ('key', 'key2', 'reseller_key')}
    for path in glob.glob(os.path.join(workdir, '*', 'etc',
                                       'container-sync-realms.conf')):
        parser = _ini(path)
        for section in parser.sections():
            for key in ('key', 'key2'):
                if parser.has_option(section, key):
                    add(parser.get(section, key), 'realm key')
    for path in glob.glob(os.path.join(workdir, '*', 'etc',
                                       'swiftsync-*.conf')):
        parser = _ini(path)
        for section in parser.sections():
            for key in ('secret_key', 'secret', 'key'):
                if parser.has_option(section, key):
                    value = parser.get(section, key)
                    if value not in passwords:  # the dev users' passwords
                        add(value, '%s %s' % (section, key))
    seen = set()
    for path in glob.glob(os.path.join(workdir, '*', 'node*', '*', '*',
                                       '**', '*.db'), recursive=True):
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        for value in db_secrets(real):
            add(value, 'container/account metadata')
    return found


def db_secrets(path):
    conn = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    conn.row_factory = sqlite3.Row
    try:
        for table in ('container_stat', 'account_stat'):
            try:
                rows = conn.execute('SELECT * FROM %s' % table).fetchall()
            except sqlite3.Error:
                continue
            for row in rows:
                fuzzed = table == 'container_stat' and \
                    (row['container'] or '').startswith(FUZZED_KEYS)
                for name, value in json.loads(row['metadata'] or
                                              '{}').items():
                    if name.lower() not in SECRET_METADATA or not value:
                        continue
                    value = value[0] if isinstance(value, list) else value
                    if not fuzzed or GENERATED_KEY.match(value or ''):
                        yield value
    finally:
        conn.close()


def searched_files(workdir):
    """Every file a secret must not be in: logs, the process table, daemon
    state... not the conf files, env.json or the storage devices."""
    for root, dirs, files in os.walk(workdir):
        rel = os.path.relpath(root, workdir)
        dirs[:] = [d for d in dirs if d != 'etc' and
                   not re.match(r'^node\d+$', d) and
                   not (rel == 'seaweedfs' and d == 'data')]
        for name in files:
            if name in ('env.json', 's3.json') or name.endswith('.tmp'):
                continue
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path


def variants(value):
    out = {value}
    out.add(quote(value, safe=''))
    out.add(quote(value.encode('utf-8', 'surrogateescape'), safe='/'))
    return out


def grep(secrets, paths):
    """{path: sorted secrets found in it}, with ``grep -F`` (fast on many
    patterns and big logs)."""
    if not secrets or not paths:
        return {}
    patterns = {}
    for s in secrets:
        for v in variants(s):
            patterns[v] = s
    hits = {}
    with tempfile.NamedTemporaryFile('w', encoding='utf-8',
                                     errors='surrogateescape',
                                     suffix='.patterns') as f:
        f.write('\n'.join(patterns) + '\n')
        f.flush()
        paths = list(paths)
        for i in range(0, len(paths), 200):
            out = subprocess.run(
                ['grep', '-F', '-H', '-a', '-o', '-f', f.name, '--'] +
                paths[i:i + 200], capture_output=True)
            assert out.returncode in (0, 1), out.stderr
            for line in out.stdout.decode('utf-8', 'replace').splitlines():
                path, _, match = line.partition(':')
                hits.setdefault(path, set()).add(
                    patterns.get(match, match))
    return {p: sorted(v) for p, v in hits.items()}


def where(secrets, found, path, name):
    """What leaked where, with the text around it (the secret masked)."""
    with open(path, 'rb') as f:
        text = f.read().decode('utf-8', 'surrogateescape')
    at = max(text.find(v) for v in variants(found))
    mask = '<%s: %d chars>' % (secrets.get(found, '?'), len(found))
    around = text[max(0, at - 200):at + len(found) + 200]
    for v in variants(found):
        around = around.replace(v, mask)
    return '%s in %s: ...%s...' % (secrets.get(found, '?'), name, around)


def without_owner_headers(text):
    return OWNER_VISIBLE.sub(lambda m: m.group(1) + '<owner-visible>', text)


def search(dirs, captured, extra_secrets=()):
    """Search every deployment's files and the captured texts.

    :returns: (report dict, leaks list)
    """
    secrets = {}
    for d in dirs:
        mine = secrets_of(d)
        assert any(w == 'realm key' for w in mine.values()), (d, mine)
        secrets.update(mine)
    for s in extra_secrets:
        if plausible(s):
            secrets.setdefault(s, 'registered by a scenario')
    paths = [p for d in dirs for p in searched_files(d)]
    leaks = []
    for path, found in grep(secrets, paths).items():
        leaks += [where(secrets, s, path, path) for s in found]
    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, 'captured.txt')
        with open(texts, 'w', encoding='utf-8',
                  errors='surrogateescape') as f:
            for t in captured:
                f.write(without_owner_headers(t).replace('\n', ' ') + '\n')
        for found in grep(secrets, [texts]).values():
            leaks += [where(secrets, s, texts, 'a captured response')
                      for s in found]
    report = dict(secrets=len(secrets), files_searched=len(paths),
                  bytes_searched=sum(os.path.getsize(p) for p in paths),
                  captured_responses=len(captured), found=len(leaks))
    return report, leaks


# -- alone: a deployment of its own -------------------------------------------

def exercise(dep):
    """Every filter and the sync daemon, on a deployment of this file's
    own: what they log and answer is then searched."""
    env = dep.env
    c1, c2 = env['clusters']
    url, tok = {}, {}
    for c in (c1, c2):
        url[c['name']] = c['proxy_url']
        tok[c['name']] = raw.auth(c)[1]

    def req(cluster, method, path, headers=None, body=None, token=True):
        h = dict(headers or {})
        if token:
            h['X-Auth-Token'] = tok[cluster]
        return raw.request(url[cluster], method, path, h, body)

    tag = uuid.uuid4().hex[:6]
    # autosync: a mirrored container (generated key, sync ring)
    mirrored = raw.opath(ACCOUNT, 'zz-mirror-' + tag)
    assert req('c1', 'PUT', mirrored).status == 201
    assert req('c1', 'PUT', mirrored + '/o', body=b'x').status == 201
    assert req('c2', 'GET', mirrored + '/o').status == 200
    # sync_keys: Sync-To without a key on a container of c1 only
    own = raw.opath(ACCOUNT, 'zz-own-' + tag)
    assert req('c1', 'PUT', own, {'X-Container-Placement': 'c1'}).status \
        == 201
    assert req('c1', 'POST', own, {
        'X-Container-Sync-To': '//dev/c2/AUTH_test/zz-own-' + tag}).status \
        == 204
    # a key rotation: the previous one is kept in sysmeta
    assert req('c1', 'POST', own, {
        'X-Container-Sync-Key': 'rotated-' + uuid.uuid4().hex}).status == 204
    # shunt: an archived object, a listing, a bad opt-in, a remote outage
    arch = raw.opath(ACCOUNT, 'zz-arch-' + tag)
    assert req('c1', 'PUT', arch, {
        'X-Container-Cloud-Sync-Target': 's3',
        'X-Container-Cloud-Sync-Mode': 'archive',
        'X-Container-Cloud-Sync-After': '0'}).status == 201
    assert req('c1', 'PUT', arch, {
        'X-Container-Cloud-Sync-Target': 'nope'}).status == 400
    conf = config.load(c1['swiftsync_conf'])
    store = stores.open_store(conf.target('s3'), ACCOUNT, 'zz-arch-' + tag)
    raw.put_remote(store, 'remote', b'archived')
    assert req('c1', 'PUT', arch + '/local', body=b'to archive').status \
        == 201
    # the sync daemon archives 'local' (and logs what it does)
    with open(os.path.join(dep.workdir, 'log', 'sync-once.log'), 'wb') as f:
        done = subprocess.run(
            [sys.executable, '-m', 'swiftsync.cli.main', 'sync',
             c1['swiftsync_conf'], '--once', '-v'], stdout=f,
            stderr=subprocess.STDOUT, timeout=300)
    assert done.returncode == 0
    for name in ('remote', 'local'):
        r = req('c1', 'GET', arch + '/' + name)
        assert r.status == 200 and 'x-cloud-sync-location' in r.headers, r
    assert req('c1', 'GET', arch + '?format=json').status == 200
    # autosync: a forged peer request
    headers = signing.sign_headers('x' * 48, 'GET', mirrored + '/o', 'c2',
                                   'c1')
    assert req('c1', 'GET', mirrored + '/o', headers, token=False).status \
        == 401
    for c in ('c1', 'c2'):
        assert req(c, 'GET', '/info', token=False).status == 200
    # errors while the remote store is away
    dep.procs.stop(['seaweedfs'])
    r = req('c1', 'GET', arch + '/remote')
    assert r.status == 503, r
    r = req('c1', 'GET', arch + '?format=json')
    assert r.status == 503, r


@pytest.fixture(scope='module')
def dirs(tmp_path_factory):
    if not conftest.DEPLOYMENT_DIRS:
        dep = chaos_deployment(tmp_path_factory, 'secrets', clusters=2,
                               replicas=1, s3='seaweedfs')
        try:
            exercise(dep)
        finally:
            dep.down()
    return list(conftest.DEPLOYMENT_DIRS)


def test_the_search_finds_what_it_looks_for(dirs, tmp_path):
    """The machinery first: a secret planted in a log and in a response
    is found; in the owner's own header it is not a leak."""
    secrets = secrets_of(dirs[0])
    kinds = set(secrets.values())
    assert 'realm key' in kinds and any('S3 secret' in k for k in kinds)
    assert 'container/account metadata' in kinds, kinds  # sync keys
    planted = sorted(secrets)[0]
    log = tmp_path / 'log' / 'planted.log'
    log.parent.mkdir()
    log.write_text('noise before %s and after\n' % planted)
    assert grep({planted: 'x'}, [str(log)]) == {str(log): [planted]}
    assert grep(list(secrets), [str(log)]) == {str(log): [planted]}
    owner = 'x-container-sync-key: %s\nx-other: 1' % planted
    assert planted not in without_owner_headers(owner)
    leak = 'x-container-sync-to: %s' % planted
    assert planted in without_owner_headers(leak)


def test_no_secret_in_logs_or_responses(dirs, figures):
    report, leaks = search(dirs, conftest.CAPTURED, conftest.SECRETS)
    report['deployments'] = len(dirs)
    figures.record('secrets', **report)
    assert report['files_searched'] > 0 and report['bytes_searched'] > 0
    assert report['secrets'] >= 3 * len(dirs)
    assert not leaks, leaks[:20]

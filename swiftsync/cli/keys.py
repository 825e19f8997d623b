# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""``swiftsync keys link|rotate|audit``: container-sync keys without the
chores.

Containers are written ``[PROFILE:]container`` (a leading ``:`` means no
profile, for container names that hold a ``:``). Exit codes: 0 ok,
1 problems found or the operation failed, 2 usage or credentials error.
"""

import json
import sys

import swiftclient

from swiftsync.cli import credentials
from swiftsync.cli.credentials import CredentialsError
from swiftsync.synckeys import (
    current_realm, generate_key, parse_sync_to, realm_knows, realm_sync_to,
    url_sync_to)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failed(Exception):
    """The operation failed (exit 1); the message is one line."""


def register(subparsers):
    keys = subparsers.add_parser(
        'keys', help='container-sync keys: link, rotate, audit',
        description='Set up, rotate and audit Swift container sync between '
                    'two containers, on one cluster or two.')
    sub = keys.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True

    def common(p):
        p.add_argument('--profiles', metavar='FILE',
                       help='profiles file (default %s)'
                            % credentials.DEFAULT_PROFILES)
        p.add_argument('--json', action='store_true',
                       help='print the result as JSON')

    def pair(p):
        p.add_argument('src', metavar='SRC', help='[PROFILE:]container that '
                       'sends its objects')
        p.add_argument('dst', metavar='DST', help='[PROFILE:]container that '
                       'receives them')
        credentials.add_flags(p, 'src', 'the source account')
        credentials.add_flags(p, 'dst', 'the destination account')
        p.add_argument('--show-key', action='store_true',
                       help='print the new key (never printed otherwise)')
        common(p)

    link = sub.add_parser(
        'link', help='set up sync SRC -> DST with a new key',
        description='Generate a key, set it on DST (created if missing), '
                    'then set the key and X-Container-Sync-To on SRC and '
                    'check both. A key DST already has is kept (other '
                    'containers may sync into it) unless --new-key.')
    pair(link)
    link.add_argument('--both-ways', action='store_true',
                      help='also sync DST -> SRC, with the same key')
    link.add_argument('--no-create', action='store_true',
                      help='fail instead of creating a missing container')
    link.add_argument('--new-key', action='store_true',
                      help='replace a key DST already has (a rotation: its '
                           'previous key stays valid for the grace period)')
    link.set_defaults(func=cmd_link)

    rotate = sub.add_parser(
        'rotate', help='give a linked pair a new key, without a gap',
        description='Set a new key on DST, then on SRC. The sync_keys filter '
                    'of DST keeps accepting the previous key for its grace '
                    'period, so no row is refused in between.')
    pair(rotate)
    rotate.set_defaults(func=cmd_rotate)

    audit = sub.add_parser(
        'audit', help="check every Sync-To of an account",
        description="HEAD every container of the account and report each "
                    "Sync-To whose destination is missing, whose key "
                    "differs or whose realm/cluster is unknown. Destinations "
                    "are checked with the credentials of the profiles "
                    "(--peer, default: every profile) and of the account.")
    audit.add_argument('account', metavar='PROFILE', nargs='?',
                       help='the account to audit (default: flags or env)')
    credentials.add_flags(audit, '', 'the audited account')
    audit.add_argument('--peer', action='append', metavar='PROFILE',
                       help='profile able to read destination containers '
                            '(repeatable; default every profile)')
    common(audit)
    audit.set_defaults(func=cmd_audit)


def _error(msg):
    print('swiftsync keys: error: %s' % msg, file=sys.stderr)


def _run(fn, args):
    try:
        return fn(args)
    except CredentialsError as e:
        _error(e)
        return EXIT_USAGE
    except Failed as e:
        _error(e)
        return EXIT_FAILED
    except swiftclient.ClientException as e:
        _error('%s %s answered %s' % (e.http_method or 'request',
                                      e.http_path or '', e.http_status or
                                      e.msg))
        return EXIT_FAILED
    except Exception as e:  # one line, never a traceback
        _error('%s: %s' % (e.__class__.__name__, e))
        return EXIT_FAILED


# -- sides ------------------------------------------------------------------

class Account(object):
    """An authenticated connection to an account, and its cluster's /info."""

    def __init__(self, conn):
        self.conn = conn
        self.url = conn.url
        self.account = self.url.rstrip('/').rsplit('/', 1)[-1]
        self._info = None

    @property
    def info(self):
        if self._info is None:
            try:
                self._info = self.conn.get_capabilities()
            except Exception:
                self._info = {}
        return self._info


class Side(Account):
    """One container of a link and its account."""

    def __init__(self, spec, args, prefix, profiles, what):
        profile, container = split_spec(spec, profiles)
        if not container:
            raise CredentialsError('%s: no container name in %r'
                                   % (what, spec))
        self.what = what
        self.container = container
        creds = credentials.resolve(args, prefix, profile, profiles, what)
        super().__init__(credentials.connect(creds))

    @property
    def where(self):
        return '%s/%s' % (self.url, self.container)

    def head(self):
        """The container's headers, or None when it does not exist."""
        try:
            return self.conn.head_container(self.container)
        except swiftclient.ClientException as e:
            if e.http_status == 404:
                return None
            raise

    def ensure(self, create):
        """(headers, created?) of the container, creating it if allowed."""
        headers = self.head()
        if headers is not None:
            return headers, False
        if not create:
            raise Failed('%s container %s does not exist (--no-create)'
                         % (self.what, self.where))
        self.conn.put_container(self.container)
        return {}, True

    def post(self, headers):
        self.conn.post_container(self.container, headers=headers)


def split_spec(spec, profiles):
    """(profile or None, container) of ``[PROFILE:]container``."""
    if spec.startswith(':'):
        return None, spec[1:]
    profile, sep, container = spec.partition(':')
    if not sep:
        return None, spec
    if profile not in profiles:
        raise CredentialsError('unknown profile %r in %r (known: %s; write '
                               ':%s for a container name with a colon)' % (
                                   profile, spec,
                                   ', '.join(sorted(profiles)) or 'none',
                                   spec))
    return profile, container


def sync_to_for(src, dst):
    """(Sync-To value that takes ``src`` to ``dst``, realm name or None)."""
    here, there = current_realm(src.info), current_realm(dst.info)
    if here and there and here[0] == there[0] and \
            realm_knows(src.info, *there):
        return realm_sync_to(there[0], there[1], dst.account,
                             dst.container), there[0]
    return url_sync_to(dst.url, dst.container), None


def _sides(args):
    profiles = credentials.load_profiles(args.profiles)
    src = Side(args.src, args, 'src', profiles, 'source')
    dst = Side(args.dst, args, 'dst', profiles, 'destination')
    return src, dst


def _verify(side, key, sync_to=None):
    headers = side.head() or {}
    if headers.get('x-container-sync-key') != key:
        raise Failed('%s %s: the key read back differs from the key set '
                     '(is a proxy filter rewriting it?)'
                     % (side.what, side.where))
    if sync_to and headers.get('x-container-sync-to') != sync_to:
        raise Failed('%s %s: X-Container-Sync-To read back is %r, not %r'
                     % (side.what, side.where,
                        headers.get('x-container-sync-to'), sync_to))


def _report(args, result, lines):
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for line in lines:
            print(line)


# -- link -------------------------------------------------------------------

def cmd_link(args):
    return _run(_link, args)


def _link(args):
    src, dst = _sides(args)
    if src.url == dst.url and src.container == dst.container:
        raise Failed('source and destination are the same container')
    forward, realm = sync_to_for(src, dst)
    back = sync_to_for(dst, src)[0] if args.both_ways else None
    dst_headers, dst_created = dst.ensure(not args.no_create)
    src_headers, src_created = src.ensure(not args.no_create)
    # other containers may already sync into DST with its key
    key = None if args.new_key else dst_headers.get('x-container-sync-key')
    kept = bool(key)
    if not kept:
        key = generate_key()
        # the receiving end first: nothing is ever sent to a container that
        # does not know the key yet
        dst.post({'X-Container-Sync-Key': key})
    replaced = src_headers.get('x-container-sync-to')
    src.post({'X-Container-Sync-Key': key, 'X-Container-Sync-To': forward})
    if back:
        dst.post({'X-Container-Sync-To': back})
    _verify(dst, key, back)
    _verify(src, key, forward)
    result = {'source': src.where, 'destination': dst.where,
              'sync_to': forward, 'realm': realm,
              'created': [s.where for s, c in ((dst, dst_created),
                                                (src, src_created)) if c],
              'both_ways': bool(back), 'key_kept': kept, 'verified': True}
    if back:
        result['sync_to_back'] = back
    if replaced and replaced != forward:
        result['replaced_sync_to'] = replaced
    if args.show_key:
        result['key'] = key
    lines = []
    for side, created, sync_to in ((dst, dst_created, back),
                                   (src, src_created, forward)):
        what = ['created'] if created else []
        what.append('X-Container-Sync-Key kept' if kept and side is dst
                    else 'X-Container-Sync-Key set')
        if sync_to:
            what.append('X-Container-Sync-To: %s' % sync_to)
        if side is src and result.get('replaced_sync_to'):
            what[-1] += ' (was %s)' % replaced
        lines.append('%-12s %s: %s' % (side.what, side.where,
                                       ', '.join(what)))
    lines.append('verified: both containers hold the same key; %s (%s)'
                 % ('syncing both ways' if back else
                    'the source syncs to the destination',
                    'realm form, realm %s' % realm if realm else 'URL form'))
    if args.show_key:
        lines.append('X-Container-Sync-Key: %s' % key)
    _report(args, result, lines)
    return EXIT_OK


# -- rotate -----------------------------------------------------------------

def _points_at(sync_to, side):
    """Whether a Sync-To value names ``side``'s container."""
    try:
        target = parse_sync_to(sync_to)
    except ValueError:
        return False
    if target['account'] != side.account or \
            target['container'] != side.container:
        return False
    if target['form'] == 'realm':
        here = current_realm(side.info)
        return bool(here) and (target['realm'].upper(),
                               target['cluster'].upper()) == here
    return side.url.rstrip('/').startswith(target['base'] + '/')


def cmd_rotate(args):
    return _run(_rotate, args)


def _rotate(args):
    src, dst = _sides(args)
    src_headers, dst_headers = src.head(), dst.head()
    for side, headers in ((src, src_headers), (dst, dst_headers)):
        if headers is None:
            raise Failed('%s container %s does not exist'
                         % (side.what, side.where))
    sync_to = src_headers.get('x-container-sync-to')
    if not sync_to or not _points_at(sync_to, dst):
        raise Failed('source %s does not sync to %s (X-Container-Sync-To: '
                     '%s); use `swiftsync keys link` first' % (
                         src.where, dst.where, sync_to or 'not set'))
    back = dst_headers.get('x-container-sync-to')
    both_ways = bool(back) and _points_at(back, src)
    grace = dst.info.get('sync_keys', {}).get('key_grace_period')
    key = generate_key()
    dst.post({'X-Container-Sync-Key': key})
    src.post({'X-Container-Sync-Key': key})
    _verify(dst, key)
    _verify(src, key)
    result = {'source': src.where, 'destination': dst.where,
              'both_ways': both_ways, 'grace_period': grace,
              'verified': True}
    if args.show_key:
        result['key'] = key
    lines = ['destination  %s: new X-Container-Sync-Key set' % dst.where,
             'source       %s: new X-Container-Sync-Key set' % src.where]
    if grace is None:
        lines.append('warning: the destination cluster has no sync_keys '
                     'filter; rows sent with the old key in between were '
                     'refused and will be retried')
    else:
        lines.append('verified: both containers hold the new key; the '
                     'destination accepts the previous one for %ds more'
                     % grace)
    if args.show_key:
        lines.append('X-Container-Sync-Key: %s' % key)
    _report(args, result, lines)
    return EXIT_OK


# -- audit ------------------------------------------------------------------

class Peers(object):
    """Connections able to HEAD destination containers, found lazily."""

    def __init__(self, account, args, profiles):
        self.candidates = [account]
        names = args.peer if args.peer else sorted(profiles)
        self.pending = [(n, profiles.get(n)) for n in names]
        for name, creds in self.pending:
            if creds is None:
                raise CredentialsError('unknown peer profile %r' % name)
        self.notes = []

    def _load(self):
        for name, creds in self.pending:
            creds = dict(creds, what='peer %s' % name)
            try:
                conn = credentials.connect(creds)
            except CredentialsError as e:
                self.notes.append(str(e))
                continue
            peer = Account(conn)
            self.candidates.append(peer)
        self.pending = []

    def find(self, target):
        self._load()
        for peer in self.candidates:
            if target['form'] == 'realm':
                if current_realm(peer.info) == (target['realm'].upper(),
                                                target['cluster'].upper()):
                    return peer
            elif peer.url.startswith(target['base'] + '/'):
                return peer
        return None


def _audit_one(name, headers, info, peers):
    """(status, code, reason) of one container's Sync-To."""
    sync_to = headers['x-container-sync-to']
    key = headers.get('x-container-sync-key')
    try:
        target = parse_sync_to(sync_to)
    except ValueError as e:
        return 'problem', 'bad-sync-to', 'X-Container-Sync-To %s' % e
    if target['form'] == 'realm':
        realms = info.get('container_sync', {}).get('realms') or {}
        if target['realm'].upper() not in realms:
            return ('problem', 'unknown-realm',
                    'realm %s is not in this cluster\'s '
                    'container-sync-realms.conf' % target['realm'])
        if not realm_knows(info, target['realm'], target['cluster']):
            return ('problem', 'unknown-cluster',
                    'cluster %s is not in realm %s' % (target['cluster'],
                                                       target['realm']))
    if not key:
        return 'problem', 'no-key', 'no X-Container-Sync-Key on the source'
    peer = peers.find(target)
    if peer is None:
        return ('unchecked', 'no-credentials',
                'no credentials for the destination cluster')
    base = peer.url.rsplit('/', 1)[0]
    try:
        dest = swiftclient.head_container(
            '%s/%s' % (base, target['account']), peer.conn.token,
            target['container'])
    except swiftclient.ClientException as e:
        if e.http_status == 404:
            return ('problem', 'destination-missing',
                    'destination container does not exist')
        if e.http_status in (401, 403):
            return ('unchecked', 'no-access',
                    'destination answered %d to the peer credentials'
                    % e.http_status)
        return ('unchecked', 'error', 'destination answered %s'
                % (e.http_status or e.msg))
    dest_key = dest.get('x-container-sync-key')
    if not dest_key:
        return ('problem', 'destination-no-key',
                'destination has no X-Container-Sync-Key')
    if dest_key != key:
        return ('problem', 'key-mismatch',
                'the keys of source and destination differ')
    return 'ok', 'ok', 'destination exists and holds the same key'


def list_containers(conn, limit=10000):
    """Every container of the account, a page of ``limit`` at a time; a
    short page is the last one."""
    listing, marker = [], ''
    while True:
        _, page = conn.get_account(marker=marker, limit=limit)
        listing += page
        if len(page) < limit:
            return listing
        marker = page[-1]['name']


def cmd_audit(args):
    return _run(_audit, args)


def _audit(args):
    profiles = credentials.load_profiles(args.profiles)
    creds = credentials.resolve(args, '', args.account, profiles,
                                'the audited account')
    conn = credentials.connect(creds)
    account = Account(conn)
    peers = Peers(account, args, profiles)
    listing = list_containers(conn)
    rows = []
    for entry in listing:
        name = entry['name']
        try:
            headers = conn.head_container(name)
        except swiftclient.ClientException as e:
            if e.http_status == 404:  # deleted while we walk
                continue
            raise
        if not headers.get('x-container-sync-to'):
            continue
        status, code, reason = _audit_one(name, headers, account.info,
                                          peers)
        rows.append({'container': name,
                     'sync_to': headers['x-container-sync-to'],
                     'status': status, 'code': code, 'reason': reason})
    problems = sum(1 for r in rows if r['status'] == 'problem')
    result = {'account': account.url, 'containers': len(listing),
              'synced': len(rows), 'problems': problems, 'results': rows,
              'notes': peers.notes}
    lines = ['%-9s %s -> %s: %s' % (r['status'].upper(), r['container'],
                                    r['sync_to'], r['reason'])
             for r in rows]
    lines += ['note: %s' % n for n in peers.notes]
    lines.append('%s: %d containers, %d with X-Container-Sync-To, %d '
                 'problem(s)' % (account.url, len(listing), len(rows),
                                 problems))
    _report(args, result, lines)
    return EXIT_FAILED if problems else EXIT_OK

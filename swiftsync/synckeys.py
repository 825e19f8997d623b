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

"""
Container-sync keys and Sync-To values: the facts shared by the
``sync_keys`` filter and ``swiftsync keys``.

Nothing here talks to a server; nothing here logs or returns a key.
"""

import secrets
from urllib.parse import quote, unquote, urlsplit

#: Container sysmeta (as Swift's get_container_info names it, without the
#: ``x-container-sysmeta-`` prefix) holding the key in use before the last
#: rotation, and when that rotation happened (UNIX time).
PREV_KEY_SYSMETA = 'swiftsync-prev-sync-key'
KEY_CHANGED_SYSMETA = 'swiftsync-key-changed'

DEFAULT_GRACE_PERIOD = 3600.0


def sysmeta_header(name):
    """The request header that sets the container sysmeta ``name``."""
    return 'X-Container-Sysmeta-' + name.title()


def generate_key():
    """A new container-sync key: 256 random bits, URL-safe (43 chars)."""
    return secrets.token_urlsafe(32)


def realm_sync_to(realm, cluster, account, container):
    """``//REALM/CLUSTER/ACCOUNT/CONTAINER`` (container URL-quoted)."""
    return '//%s/%s/%s/%s' % (realm, cluster, account, quote(container))


def url_sync_to(storage_url, container):
    return '%s/%s' % (storage_url.rstrip('/'), quote(container))


def parse_sync_to(value):
    """Split a Sync-To value.

    :returns: a dict with ``form`` ('realm' or 'url'), ``account`` and
              ``container`` (unquoted), and ``realm``/``cluster`` for the
              realm form or ``base`` (scheme://host[:port]/v1) for a URL.
    :raises ValueError: with a one-line reason for anything else
    """
    if value.startswith('//'):
        parts = value[2:].split('/')
        if len(parts) != 4 or not all(parts):
            raise ValueError('realm form must be //REALM/CLUSTER/ACCOUNT/'
                             'CONTAINER')
        realm, cluster, account, container = parts
        return {'form': 'realm', 'realm': realm, 'cluster': cluster,
                'account': unquote(account), 'container': unquote(container)}
    parts = urlsplit(value)
    segments = parts.path.rstrip('/').split('/')
    if parts.scheme not in ('http', 'https') or not parts.netloc or \
            len(segments) < 4 or not all(segments[1:4]):
        raise ValueError('must be //REALM/CLUSTER/ACCOUNT/CONTAINER or '
                         'http(s)://HOST/VERSION/ACCOUNT/CONTAINER')
    return {'form': 'url',
            'base': '%s://%s/%s' % (parts.scheme, parts.netloc, segments[1]),
            'account': unquote(segments[2]),
            'container': unquote('/'.join(segments[3:]))}


def current_realm(info):
    """(REALM, CLUSTER) this cluster is in, from its /info, or None.

    Swift's container_sync filter marks its own cluster ``current`` when the
    operator sets ``current = //REALM/CLUSTER``.
    """
    realms = (info or {}).get('container_sync', {}).get('realms') or {}
    for realm, data in sorted(realms.items()):
        for cluster, facts in sorted((data.get('clusters') or {}).items()):
            if (facts or {}).get('current'):
                return realm, cluster
    return None


def realm_knows(info, realm, cluster):
    """Whether the /info of a cluster lists ``//realm/cluster``."""
    realms = (info or {}).get('container_sync', {}).get('realms') or {}
    data = realms.get(realm.upper())
    return bool(data) and cluster.upper() in (data.get('clusters') or {})

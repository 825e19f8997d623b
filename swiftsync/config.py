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
The swiftsync operator file
===========================

Every swiftsync filter and daemon reads one file, ``/etc/swift/swiftsync.conf``
by default. It is an INI file like every other Swift config and is read with
Swift's own helper, so the usual rules apply: ``key = value`` lines under
``[section]`` headers, ``#`` or ``;`` comments on their own line.

Sections:

``[swiftsync]``
    Settings of this node: where Swift's configs and devices are, how the
    daemons run and log, and which ``[cluster:NAME]`` is this cluster.

``[target:NAME]``
    A remote store: an S3 bucket (``type = s3``) or an account on another
    Swift cluster (``type = swift``). Credentials live here and nowhere
    else; container owners only ever name a target.

``[mapping:NAME]``
    An operator-defined mapping of a container (or of every container of an
    account, ``container = *``) to a target, in ``sync`` or ``archive`` mode.

``[cluster:NAME]``
    A Swift cluster taking part in autosync, this one included. Peers sign
    the requests they send each other with the shared ``secret``.

A short example::

    [swiftsync]
    cluster = east

    [target:archive]
    type = s3
    endpoint = https://s3.example.com
    bucket = swift-archive
    access_key = AKIAEXAMPLE
    secret_key = <secret>

    [mapping:logs]
    account = AUTH_ops
    container = logs
    target = archive
    mode = archive
    after = 7d

    [cluster:east]
    proxy_url = http://10.0.0.10:8080
    secret = <at least 16 characters>

    [cluster:west]
    proxy_url = http://10.1.0.10:8080
    secret = <at least 16 characters>

Value types:

* durations are seconds, or a number with a unit: ``90``, ``90s``, ``30m``,
  ``2h``, ``7d``, ``1.5h``;
* booleans are ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``
  (or ``t``/``f``, ``y``/``n``); anything else is refused;
* sizes are bytes, or a number with ``K``, ``M``, ``G`` (powers of 1000) or
  ``Ki``, ``Mi``, ``Gi`` (powers of 1024);
* an empty value (``key =``) is the same as leaving the key out.

The file is checked in full when it is loaded: an unknown section or key, a
missing required key, a value of the wrong type, a mapping naming a target
that does not exist... each stops the filter or daemon from starting with
the file, section, key and reason, for example::

    /etc/swift/swiftsync.conf: [target:s3] bucket: is required

Secret values (``secret_key``, ``key``, ``password``, ``secret``) are never
shown in an error, a log line or the ``repr()`` of the parsed config.
"""

import configparser
import difflib
import io
import math
import os
import re
from dataclasses import dataclass, field
from logging.handlers import SysLogHandler
from typing import Any, Callable, ClassVar, NamedTuple
from urllib.parse import urlsplit

__all__ = [
    'DEFAULT_PATH', 'SCHEMA', 'SECRET_KEYS', 'ConfigError',
    'UnknownNameError', 'Key', 'SwiftSyncConfig', 'GlobalConfig', 'Target',
    'S3Target', 'SwiftTarget', 'Mapping', 'Cluster', 'load', 'loads',
    'parse_duration', 'parse_bool', 'parse_size',
]

DEFAULT_PATH = '/etc/swift/swiftsync.conf'

#: Keys whose values are never shown: not in errors, not in ``repr()``.
SECRET_KEYS = frozenset(('secret_key', 'key', 'password', 'secret',
                         'application_credential_secret'))

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# S3 refuses parts under 5 MiB (but the last) and over 5 GiB; Swift's default
# max_file_size is 5 GiB too, so one bound suits both kinds of target.
MIN_SEGMENT_SIZE = 5 * MiB
MAX_SEGMENT_SIZE = 5 * GiB
MIN_SECRET_LENGTH = 16

# Names end up in headers (X-Container-Cloud-Sync-Target), sysmeta and logs.
_NAME_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.\-]*')
_KINDS = ('target', 'mapping', 'cluster')


class ConfigError(ValueError):
    """
    The operator file is unusable. ``str()`` gives the whole story on one
    line: ``<path>: [<section>] <key>: <reason>``.

    :ivar path: the file (or ``<string>``)
    :ivar section: the section name, or None for file-level problems
    :ivar key: the key, or None when the problem is the section itself
    :ivar reason: what is wrong; never contains a secret value
    """

    def __init__(self, path, section, key, reason):
        # args mirror __init__ so the exception survives pickling
        super().__init__(path, section, key, reason)
        self.path = path
        self.section = section
        self.key = key
        self.reason = reason

    def __str__(self):
        if self.section is None:
            return '%s: %s' % (self.path, self.reason)
        if self.key is None:
            return '%s: [%s] %s' % (self.path, self.section, self.reason)
        return '%s: [%s] %s: %s' % (self.path, self.section, self.key,
                                    self.reason)


class UnknownNameError(ConfigError, LookupError):
    """
    A target or cluster looked up by name is not in the file. Both a
    :class:`ConfigError` and a :class:`LookupError` (but not a KeyError, whose
    message would be a bare quoted name).
    """


# ---------------------------------------------------------------------------
# Value parsers. They raise ValueError with a reason that never quotes the
# value: the loader adds the value itself unless the key is a secret.

_TRUE = frozenset(('true', 'yes', 'on', '1', 't', 'y'))
_FALSE = frozenset(('false', 'no', 'off', '0', 'f', 'n'))


def parse_bool(value):
    """
    Like ``swift.common.utils.config_true_value`` but a value that is neither
    true nor false is an error instead of silently false.

    :raises ValueError: for anything but true/false/yes/no/on/off/1/0/t/f/y/n
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    raise ValueError('not a boolean (use true/false, yes/no, on/off or 1/0)')


parse_bool.kind = 'boolean'

_DURATION_RE = re.compile(r'^(\d+(?:\.\d+)?|\.\d+)([smhd]?)$')
_DURATION_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}


def parse_duration(value):
    """
    Seconds from ``"90"``, ``"90s"``, ``"30m"``, ``"2h"``, ``"7d"``,
    ``"1.5h"`` (or from a non-negative int or float).

    :raises ValueError: for anything else, negative values included
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION_RE.match(value.strip())
        if not m:
            raise ValueError('not a duration (seconds, or a number with '
                             's, m, h or d: 90, 30m, 2h, 7d)')
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        raise ValueError('not a duration')
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError('not a duration (must be a finite number >= 0)')
    return seconds


parse_duration.kind = 'duration'

_SIZE_RE = re.compile(r'^(\d+)\s*(?:([kmg])(i?))?b?$', re.IGNORECASE)
_SIZE_POWERS = {'k': 1, 'm': 2, 'g': 3}


def parse_size(value):
    """
    Bytes from ``"1048576"``, ``"100Mi"``, ``"5M"``, ``"1Gi"``...: K, M, G
    are powers of 1000 and Ki, Mi, Gi powers of 1024; a trailing ``B`` is
    allowed (``100MiB``).

    :raises ValueError: for anything else
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError('not a size (must be >= 0)')
        return value
    m = _SIZE_RE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise ValueError('not a size (bytes, or a whole number with '
                         'K, M, G, Ki, Mi or Gi: 100Mi, 1Gi)')
    number, prefix, binary = m.groups()
    if not prefix:
        return int(number)
    base = 1024 if binary else 1000
    return int(number) * base ** _SIZE_POWERS[prefix.lower()]


parse_size.kind = 'size'


def _kind(kind):
    """Tag a parser with the type name shown in the docs."""
    def tag(fn):
        fn.kind = kind
        return fn
    return tag


class _NoEcho(ValueError):
    """A parse error whose value must not be shown (e.g. a URL with a
    password in it), whatever the key."""


def _string(value):
    # A value that spans lines is almost always a line indented by mistake.
    if '\n' in value:
        raise ValueError('must be on one line (is the next line indented?)')
    return value


_string.kind = 'string'


def _path(value):
    _string(value)
    if not os.path.isabs(value):
        raise ValueError('must be an absolute path')
    return value


_path.kind = 'path'


def _integer(minimum=None, maximum=None):
    @_kind('integer')
    def parse(value):
        if not re.match(r'^[+-]?\d+$', value.strip()):
            raise ValueError('not an integer')
        n = int(value)
        if minimum is not None and n < minimum:
            raise ValueError('must be >= %d' % minimum)
        if maximum is not None and n > maximum:
            raise ValueError('must be <= %d' % maximum)
        return n
    return parse


def _float(minimum, maximum):
    @_kind('number')
    def parse(value):
        try:
            n = float(value)
        except ValueError:
            raise ValueError('not a number') from None
        if not minimum < n <= maximum:
            raise ValueError('must be > %g and <= %g' % (minimum, maximum))
        return n
    return parse


def _duration(positive=False):
    @_kind('duration')
    def parse(value):
        seconds = parse_duration(value)
        if positive and seconds <= 0:
            raise ValueError('must be more than 0')
        return seconds
    return parse


def _size(minimum, maximum):
    @_kind('size')
    def parse(value):
        n = parse_size(value)
        if n < minimum:
            raise ValueError('must be at least %s (%d bytes; note that M is '
                             '1000*1000 and Mi 1024*1024)'
                             % (_human(minimum), minimum))
        if n > maximum:
            raise ValueError('must be at most %s (%d bytes)'
                             % (_human(maximum), maximum))
        return n
    return parse


def _human(n):
    for unit, size in (('Gi', GiB), ('Mi', MiB), ('Ki', KiB)):
        if n >= size and n % size == 0:
            return '%d %sB' % (n // size, unit)
    return '%d bytes' % n


def _choice(*choices, aliases=None, ignore_case=False):
    """One of ``choices``; ``aliases`` maps other spellings to a choice.
    The value returned is always the canonical spelling."""
    aliases = dict(aliases or {})
    for c in choices:
        aliases.setdefault(c.lower() if ignore_case else c, c)

    def parse(value):
        canonical = aliases.get(value.lower() if ignore_case else value)
        if canonical is None:
            raise ValueError('must be one of: %s' % ', '.join(choices))
        return canonical
    parse.kind = 'one of: ' + ', '.join(choices)
    parse.choices = choices
    return parse


_AUTH_VERSIONS = _choice('1', '3', aliases={
    '1.0': '1', 'v1': '1', 'v1.0': '1', '3.0': '3', 'v3': '3', 'v3.0': '3'},
    ignore_case=True)


@_kind('one of: 1, 3')
def _auth_version(value):
    return int(_AUTH_VERSIONS(value))


_SSE = _choice('none', 'AES256', 'aws:kms', aliases={'aes256': 'AES256'})


@_kind(_SSE.kind)
def _sse(value):
    # "none" is spelled out in the file but is None in the config
    sse = _SSE(value)
    return None if sse == 'none' else sse


def _url(path_allowed=True):
    """http(s)://host[:port][/path]; a path only when ``path_allowed``.
    Returned without trailing slashes, so callers can append ``/v1/...``."""
    @_kind('URL' if path_allowed else 'URL (scheme://host[:port])')
    def parse(value):
        # First of all, so that no other error echoes a password.
        if '@' in value.partition('://')[2].partition('/')[0]:
            raise _NoEcho('must not contain credentials (user:password@); '
                          'use the credential keys of the section')
        if any(c.isspace() for c in value):
            raise ValueError('not a URL: must not contain spaces')
        try:
            parts = urlsplit(value)
            parts.port  # raises ValueError for a bad port
        except ValueError:
            raise ValueError('not a URL: bad host or port') from None
        if parts.scheme not in ('http', 'https'):
            raise ValueError('not a URL: must start with http:// or https://')
        if not parts.hostname:
            raise ValueError('not a URL: no host')
        if parts.query or parts.fragment:
            raise ValueError('not a URL: must not have a ?query or #fragment')
        if not path_allowed and parts.path.strip('/'):
            raise ValueError('must be scheme://host[:port], without a path')
        if not path_allowed:
            return '%s://%s' % (parts.scheme, parts.netloc)
        return value.rstrip('/')
    return parse


@_kind('name')
def _name(value):
    if not _NAME_RE.fullmatch(value):
        raise ValueError("not a name: use letters, digits, '_', '.' and '-'")
    return value


@_kind('string')
def _account(value):
    _string(value)
    if '/' in value:
        raise ValueError("must be an account name such as AUTH_test, "
                         "without '/'")
    return value


@_kind("container name, or *")
def _container(value):
    _string(value)
    if '/' in value:
        raise ValueError("must be a container name, without '/'")
    if '*' in value and value != '*':
        raise ValueError("'*' alone means every container of the account; "
                         "patterns are not supported")
    return value


@_kind('string')
def _segment(value):
    _string(value)
    if '/' in value:
        raise ValueError("must not contain '/'")
    return value


@_kind('regular expression')
def _regex(value):
    _string(value)
    try:
        return re.compile(value)
    except re.error as e:
        raise ValueError('invalid regular expression: %s' % e) from None


_META_PREFIX = 'x-object-meta-'


@_kind('comma-separated list')
def _meta_names(value):
    names = []
    for item in value.split(','):
        item = item.strip().lower()
        if not item:
            continue
        if any(c.isspace() for c in item):
            raise ValueError('not a comma-separated list of metadata names')
        if item.startswith(_META_PREFIX):
            item = item[len(_META_PREFIX):]
        if item and item not in names:
            names.append(item)
    return tuple(names) or None


@_kind('string')
def _min_secret(value):
    if '\n' in value:
        raise ValueError('must be on one line (is the next line indented?)')
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError('must be at least %d characters long'
                         % MIN_SECRET_LENGTH)
    return value


_LOG_LEVELS = _choice('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL',
                      aliases={'warn': 'WARNING'}, ignore_case=True)


@_kind('syslog facility (LOG_LOCAL0 ... LOG_LOCAL7, LOG_USER, ...)')
def _log_facility(value):
    names = sorted('LOG_' + n.upper() for n in SysLogHandler.facility_names
                   if hasattr(SysLogHandler, 'LOG_' + n.upper()))
    if value not in names:
        raise ValueError('not a syslog facility (LOG_LOCAL0 ... LOG_LOCAL7, '
                         'LOG_USER, LOG_DAEMON, ...)')
    return value


# ---------------------------------------------------------------------------
# The schema. Everything that knows which keys exist (the loader, the
# unknown-key check, doc/config.rst and its test) reads it from here.

class Key(NamedTuple):
    """One key of a section: how to parse it and what it defaults to."""
    parser: Callable[[str], Any]
    #: the parsed value used when the key is absent or empty; None may
    #: also mean "derived from other keys", see ``help``
    default: Any = None
    required: bool = False
    help: str = ''
    #: never show the value (errors, repr)
    secret: bool = False

    @property
    def kind(self):
        """The type of the value, as the docs name it."""
        return getattr(self.parser, 'kind', 'string')


def _secret_key(parser, help):
    # Secrets are always required: a store or a peer without one is useless.
    return Key(parser, None, True, help, secret=True)


_GLOBALS = {
    'swift_dir': Key(_path, '/etc/swift', help=(
        "Swift's configuration directory (rings, swift.conf).")),
    'devices': Key(_path, '/srv/node', help=(
        'Where the container devices of this node are mounted.')),
    'mount_check': Key(parse_bool, True, help=(
        'Skip devices that are not mount points, like the Swift servers do.')),
    'bind_ip': Key(_string, '0.0.0.0', help=(
        'The IP of the container server of this node; with bind_port it '
        'picks the local devices out of the container ring, the way '
        'container-sync does.')),
    'bind_port': Key(_integer(1, 65535), 6201, help=(
        'The port of the container server of this node.')),
    'state_dir': Key(_path, '/var/lib/swiftsync', help=(
        'Where the daemons keep their checkpoints.')),
    'interval': Key(_duration(positive=True), 30.0, help=(
        'Pause between two passes of a daemon.')),
    'concurrency': Key(_integer(1), 16, help=(
        'Objects a daemon transfers at once.')),
    'verify_slack': Key(_duration(), 600.0, help=(
        'How long the sync daemon of a container replica waits before it '
        'checks the rows that another replica was to copy.')),
    'remote_timeout': Key(_duration(positive=True), 10.0, help=(
        'Default timeout of one request to a remote store or peer.')),
    'cluster': Key(_name, None, help=(
        'The name of THIS cluster among the [cluster:NAME] sections. '
        'Required for autosync; when set it must name one of them.')),
    'internal_client_conf_path': Key(_path, None, help=(
        'The internal client config the daemons use to talk to the local '
        'Swift; by default a built-in one, like container-sync.')),
    'realms_conf': Key(_path, None, help=(
        'The container-sync realms file; default '
        '<swift_dir>/container-sync-realms.conf.')),
    'key_grace_period': Key(_duration(), 3600.0, help=(
        'How long the previous container-sync key stays valid after a '
        'rotation (sync_keys filter).')),
    'log_name': Key(_string, 'swiftsync', help='Name used in log lines.'),
    'log_level': Key(_LOG_LEVELS, 'INFO', help='Logging level.'),
    'log_facility': Key(_log_facility, 'LOG_LOCAL0', help='Syslog facility.'),
    'log_address': Key(_path, '/dev/log', help='Syslog socket.'),
    'log_statsd_host': Key(_string, None, help=(
        'Send StatsD metrics to this host; off when unset.')),
    'log_statsd_port': Key(_integer(1, 65535), 8125, help='StatsD port.'),
    'log_statsd_metric_prefix': Key(_string, '', help=(
        'Prefix of every metric name.')),
    'log_statsd_default_sample_rate': Key(_float(0.0, 1.0), 1.0, help=(
        'Fraction of the events sent to StatsD, in (0, 1].')),
}

#: values of ``trailing_slash`` in a [target:NAME] of type = s3
TRAILING_SLASH_CHOICES = ('suffix', 'keep')


def default_trailing_slash(endpoint):
    """The ``trailing_slash`` of an S3 target that does not set it:
    ``keep`` for AWS (no endpoint, or a host under amazonaws.com), which
    holds a key ending in '/' as any other object; ``suffix`` for every
    other endpoint, since S3 clones built on a file tree (SeaweedFS, MinIO)
    answer such a key with no content and no metadata."""
    if not endpoint:
        return 'keep'
    host = (urlsplit(endpoint).hostname or '').lower().rstrip('.')
    if host == 'amazonaws.com' or host.endswith('.amazonaws.com'):
        return 'keep'
    return 'suffix'


_TARGET_COMMON = {
    'type': Key(_choice('s3', 'swift'), None, True, help=(
        'The kind of remote store; decides which other keys are valid.')),
    'layout': Key(_choice('hashed', 'native'), 'hashed', help=(
        'hashed: <prefix><hash>/<account>/<container>/<object>, the layout '
        'of swift-s3-sync, whose buckets are adopted as they are; native: '
        'the object name (after prefix) is the key, for plain S3 tools.')),
    'prefix': Key(_string, '', help=(
        'A custom prefix of every remote name; for the hashed layout it '
        'comes before the hash.')),
    'timeout': Key(_duration(positive=True), 10.0, help=(
        'Timeout of one request to this store.')),
    'retries': Key(_integer(0), 3, help=(
        'Retries of a failed request before giving up on an object.')),
    'segment_size': Key(_size(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE), 100 * MiB,
                        help=('Size of the segments (Swift) or parts (S3) '
                              'large objects are split into; 5 MiB to '
                              '5 GiB.')),
}

_S3 = dict(_TARGET_COMMON, **{
    'endpoint': Key(_url(path_allowed=False), None, help=(
        'http(s)://host[:port] of an S3-compatible store; AWS when unset.')),
    'bucket': Key(_string, None, True, help='The bucket to write into.'),
    'region': Key(_string, 'us-east-1', help='Region used to sign requests.'),
    'access_key': Key(_string, None, True, help='Access key id.'),
    'secret_key': _secret_key(_string, 'Secret access key.'),
    'addressing_style': Key(_choice('path', 'virtual', 'auto'), 'path',
                            help=('path: host/bucket/key; virtual: '
                                  'bucket.host/key; auto: let botocore '
                                  'choose.')),
    'sse': Key(_sse, None, help=(
        'Server-side encryption asked of S3: none, AES256 or aws:kms.')),
    'sse_kms_key_id': Key(_string, None, help=(
        'KMS key id; only with sse = aws:kms.')),
    'storage_class': Key(_string, None, help=(
        'Storage class of new objects (STANDARD_IA, GLACIER_IR...); the '
        "bucket's default when unset.")),
    'max_connections': Key(_integer(1), 32, help=(
        'Size of the HTTP connection pool to the store.')),
    'verify_ssl': Key(parse_bool, True, help=(
        'Verify the TLS certificate of an https endpoint.')),
    'trailing_slash': Key(_choice(*TRAILING_SLASH_CHOICES), None, help=(
        "How an object name ending in '/' becomes a key. keep: the name as "
        'it is (AWS, Swift s3api; the keys swift-s3-sync wrote are adopted '
        'as they are); suffix: <name>.swiftsync-trailing-slash, for S3 '
        "clones built on a file tree (SeaweedFS, MinIO) that take 'dir/' "
        'for a directory and drop its content. Default keep for AWS (no '
        'endpoint, or an amazonaws.com one), suffix for any other '
        'endpoint.')),
})

_SWIFT = dict(_TARGET_COMMON, **{
    'auth_url': Key(_url(), None, True, help=(
        'Auth endpoint: .../auth/v1.0 (tempauth, swauth) or .../v3 '
        '(Keystone).')),
    'user': Key(_string, None, help=(
        'User name; account:user for v1 auth. Required, but with a '
        'Keystone application credential.')),
    'key': Key(_string, None, help=(
        'Password or key of the user (required with user).'), secret=True),
    'auth_version': Key(_auth_version, 1, help=(
        'Auth protocol: 1 (also v1.0, 1.0) or 3 (Keystone v3, also v3).')),
    'application_credential_id': Key(_string, None, help=(
        'Keystone v3: authenticate with this application credential '
        'instead of user and key (it names its own project).')),
    'application_credential_secret': Key(_string, None, help=(
        'The secret of application_credential_id.'), secret=True),
    'region_name': Key(_string, None, help=(
        "Keystone v3: the region whose object-store endpoint to use (a "
        "Keystone serving several clusters has one each); default: the "
        "catalog's first.")),
    'project_name': Key(_string, None, help=(
        'Keystone project; required with auth_version = 3.')),
    'project_domain_name': Key(_string, 'Default', help=(
        'Keystone domain of the project (auth_version = 3).')),
    'user_domain_name': Key(_string, 'Default', help=(
        'Keystone domain of the user (auth_version = 3).')),
    'storage_url': Key(_url(), None, help=(
        'Use this storage URL instead of the one auth returns.')),
    'account': Key(_account, None, help=(
        'The remote account to write into (e.g. AUTH_test); by default '
        'the account of the authenticated user.')),
    'container_suffix': Key(_segment, None, help=(
        'Appended to the remote container name.')),
    'max_connections': Key(_integer(1), 32, help=(
        'Size of the HTTP connection pool to the remote cluster.')),
    'verify_ssl': Key(parse_bool, True, help=(
        'Verify the TLS certificate of https URLs.')),
})

_MAPPING = {
    'account': Key(_account, None, True, help=(
        'The local account, e.g. AUTH_test.')),
    'container': Key(_container, None, True, help=(
        'The local container, or * for every container of the account.')),
    'target': Key(_name, None, True, help=(
        'The NAME of the [target:NAME] to copy to.')),
    'mode': Key(_choice('sync', 'archive'), 'sync', help=(
        'sync: mirror every change; archive: copy objects older than '
        '"after", then delete them locally (GET still serves them).')),
    'after': Key(_duration(), 0.0, help=(
        'Age of an object before it is archived (archive mode only).')),
    'propagate_delete': Key(parse_bool, None, help=(
        'Delete remote copies when local objects are deleted; default true '
        'in sync mode, false in archive mode.')),
    'merge': Key(parse_bool, False, help=(
        'Splice remote-only objects into container listings (shunt).')),
    'restore': Key(parse_bool, False, help=(
        'Copy an object served from the remote back into the local '
        'container on GET (shunt).')),
    'exclude': Key(_regex, None, help=(
        'Objects whose names match this regular expression (re.search) '
        'are not copied.')),
    'metadata': Key(_meta_names, None, help=(
        'Only copy these user metadata names (color or '
        'X-Object-Meta-Color); all when unset.')),
    'remote_container': Key(_segment, None, help=(
        'Swift targets: the remote container name; S3 targets: a path '
        'segment used instead of the container name.')),
    'expire_after': Key(_duration(positive=True), None, help=(
        'Delete remote copies this long after they are written; never '
        'when unset.')),
}

_CLUSTER = {
    'proxy_url': Key(_url(), None, True, help=(
        'Proxy endpoint of the cluster, e.g. http://127.0.0.1:8600.')),
    'realm': Key(_string, None, help=(
        'The container-sync realm (container-sync-realms.conf) autosync '
        'uses between this cluster and the others.')),
    'sync_name': Key(_string, None, help=(
        "The cluster's name in that realm (cluster_<sync_name>); default "
        'the NAME of the section.')),
    'secret': _secret_key(_min_secret, (
        'HMAC secret signing the requests between this cluster and the '
        'peer; at least %d characters.' % MIN_SECRET_LENGTH)),
    'consistency': Key(_choice('strict', 'eventual'), 'strict', help=(
        'strict: a namespace change fails when this peer cannot be '
        'reached; eventual: it succeeds and swiftsync reconcile repairs '
        'the peer later.')),
    'timeout': Key(_duration(positive=True), 10.0, help=(
        'Timeout of one request to this peer.')),
    'placement_default': Key(parse_bool, True, help=(
        'Part of the placement of containers created without '
        'X-Container-Placement.')),
}

#: section kind -> {key: Key}. Target kinds are ``target:s3`` and
#: ``target:swift`` (each includes the keys common to all targets).
SCHEMA = {
    'swiftsync': _GLOBALS,
    'target:s3': _S3,
    'target:swift': _SWIFT,
    'mapping': _MAPPING,
    'cluster': _CLUSTER,
}


# ---------------------------------------------------------------------------
# The parsed config. Frozen: filters share one instance across greenthreads.

@dataclass(frozen=True, kw_only=True)
class GlobalConfig:
    swift_dir: str = '/etc/swift'
    devices: str = '/srv/node'
    mount_check: bool = True
    bind_ip: str = '0.0.0.0'
    bind_port: int = 6201
    state_dir: str = '/var/lib/swiftsync'
    interval: float = 30.0
    concurrency: int = 16
    verify_slack: float = 600.0
    remote_timeout: float = 10.0
    cluster: str | None = None
    internal_client_conf_path: str | None = None
    realms_conf: str | None = None
    key_grace_period: float = 3600.0
    log_name: str = 'swiftsync'
    log_level: str = 'INFO'
    log_facility: str = 'LOG_LOCAL0'
    log_address: str = '/dev/log'
    log_statsd_host: str | None = None
    log_statsd_port: int = 8125
    log_statsd_metric_prefix: str = ''
    log_statsd_default_sample_rate: float = 1.0

    def __post_init__(self):
        if self.realms_conf is None:
            object.__setattr__(self, 'realms_conf', os.path.join(
                self.swift_dir, 'container-sync-realms.conf'))

    def log_conf(self):
        """A conf dict for ``swift.common.utils.get_logger`` (string values,
        like a section of a Swift conf)."""
        conf = {k: str(getattr(self, k)) for k in (
            'log_name', 'log_level', 'log_facility', 'log_address',
            'log_statsd_port', 'log_statsd_metric_prefix',
            'log_statsd_default_sample_rate')}
        if self.log_statsd_host:
            conf['log_statsd_host'] = self.log_statsd_host
        return conf


@dataclass(frozen=True, kw_only=True)
class Target:
    """What every remote store has. See :class:`S3Target` and
    :class:`SwiftTarget`; ``target.type`` tells them apart."""
    type: ClassVar[str] = ''
    name: str
    layout: str = 'hashed'
    prefix: str = ''
    timeout: float = 10.0
    retries: int = 3
    segment_size: int = 100 * MiB


@dataclass(frozen=True, kw_only=True)
class S3Target(Target):
    type: ClassVar[str] = 's3'
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    endpoint: str | None = None
    region: str = 'us-east-1'
    addressing_style: str = 'path'
    #: None, 'AES256' or 'aws:kms' (``sse = none`` in the file is None)
    sse: str | None = None
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    max_connections: int = 32
    verify_ssl: bool = True
    #: 'keep' or 'suffix' once built; None here means "the default of
    #: the endpoint" (:func:`default_trailing_slash`)
    trailing_slash: str | None = None

    def __post_init__(self):
        if self.trailing_slash is None:
            object.__setattr__(self, 'trailing_slash',
                               default_trailing_slash(self.endpoint))


@dataclass(frozen=True, kw_only=True)
class SwiftTarget(Target):
    type: ClassVar[str] = 'swift'
    auth_url: str
    user: str | None = None
    key: str | None = field(default=None, repr=False)
    #: 1 or 3
    auth_version: int = 1
    application_credential_id: str | None = None
    application_credential_secret: str | None = field(default=None,
                                                      repr=False)
    region_name: str | None = None
    project_name: str | None = None
    project_domain_name: str = 'Default'
    user_domain_name: str = 'Default'
    storage_url: str | None = None
    account: str | None = None
    container_suffix: str | None = None
    max_connections: int = 32
    verify_ssl: bool = True


@dataclass(frozen=True, kw_only=True)
class Mapping:
    name: str
    account: str
    #: a container name, or '*' for every container of the account
    container: str
    #: the name of a target (``SwiftSyncConfig.target(mapping.target)``)
    target: str
    mode: str = 'sync'
    after: float = 0.0
    #: None here means "the default of the mode"; always a bool once built
    propagate_delete: bool | None = None
    merge: bool = False
    restore: bool = False
    exclude: re.Pattern | None = None
    #: user metadata names to copy, lower case, no X-Object-Meta- prefix;
    #: None for all
    metadata: tuple[str, ...] | None = None
    remote_container: str | None = None
    expire_after: float | None = None

    def __post_init__(self):
        if self.propagate_delete is None:
            object.__setattr__(self, 'propagate_delete', self.mode == 'sync')

    def matches(self, account, container):
        return self.account == account and self.container in (container, '*')

    def excludes(self, obj):
        """True when the object name ``obj`` must not be copied."""
        return bool(self.exclude and self.exclude.search(obj))

    def copies_metadata(self, name):
        """True when user metadata ``name`` (with or without the
        X-Object-Meta- prefix) is to be copied."""
        if self.metadata is None:
            return True
        name = name.lower()
        if name.startswith(_META_PREFIX):
            name = name[len(_META_PREFIX):]
        return name in self.metadata


@dataclass(frozen=True, kw_only=True)
class Cluster:
    name: str
    proxy_url: str
    secret: str = field(repr=False)
    realm: str | None = None
    #: None here means "the section NAME"; always a str once built
    sync_name: str | None = None
    consistency: str = 'strict'
    timeout: float = 10.0
    placement_default: bool = True

    def __post_init__(self):
        if self.sync_name is None:
            object.__setattr__(self, 'sync_name', self.name)


@dataclass(frozen=True, kw_only=True)
class SwiftSyncConfig:
    path: str
    globals: GlobalConfig = field(default_factory=GlobalConfig)
    targets: dict[str, Target] = field(default_factory=dict)
    mappings: dict[str, Mapping] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def _lookup(self, kind, table, name):
        try:
            return table[name]
        except KeyError:
            pass
        reason = 'not defined'
        close = difflib.get_close_matches(str(name), list(table), n=1)
        if close:
            reason += " (did you mean '%s'?)" % close[0]
        elif table:
            reason += ' (defined: %s)' % ', '.join(sorted(table))
        raise UnknownNameError(self.path, '%s:%s' % (kind, name), None,
                               reason) from None

    def target(self, name):
        """The target called ``name``.

        :raises UnknownNameError: (a LookupError) when there is none
        """
        return self._lookup('target', self.targets, name)

    def cluster(self, name):
        """The cluster called ``name``.

        :raises UnknownNameError: (a LookupError) when there is none
        """
        return self._lookup('cluster', self.clusters, name)

    def mappings_for(self, account, container):
        """The mappings of a container: its own first, then the one of
        every container of its account (``container = *``)."""
        found = [m for m in self.mappings.values()
                 if m.matches(account, container)]
        return sorted(found, key=lambda m: m.container == '*')

    def my_cluster(self):
        """The [cluster:NAME] of this cluster (``cluster`` in
        [swiftsync]), or None."""
        if self.globals.cluster is None:
            return None
        return self.clusters.get(self.globals.cluster)

    def peers(self):
        """Every cluster but this one."""
        return [c for n, c in self.clusters.items()
                if n != self.globals.cluster]


# ---------------------------------------------------------------------------
# Loading

def load(path=DEFAULT_PATH):
    """Read and check the operator file.

    :raises ConfigError: when the file cannot be read or is not valid
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(path, None, None, 'cannot read: %s'
                          % (e.strerror or e.__class__.__name__)) from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, None, 'cannot read: not UTF-8 text') \
            from None
    return loads(text, path)


def loads(text, path='<string>'):
    """Like :func:`load`, from the text of a file; ``path`` is only used in
    errors and kept in the result."""
    return _Loader(path).load(text)


class _NamedStringIO(io.StringIO):
    # configparser names its source after the file object's .name
    def __init__(self, text, name):
        super().__init__(text)
        self.name = name


def _did_you_mean(word, candidates, fmt="'%s'"):
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return (' (did you mean %s?)' % (fmt % close[0])) if close else ''


class _Loader(object):

    def __init__(self, path):
        self.path = path

    def error(self, section, key, reason):
        return ConfigError(self.path, section, key, reason)

    def load(self, text):
        sections = self.read_sections(text)
        globals_ = GlobalConfig()
        targets, mappings, clusters = {}, {}, {}
        # names per kind, lower case -> as written: names that differ only
        # by case are refused (one may be taken for the other in headers)
        seen = {kind: {} for kind in _KINDS}
        for section, items in sections:
            if section == 'swiftsync':
                globals_ = GlobalConfig(**self.parse_items(
                    section, items, _GLOBALS))
                continue
            kind, name = self.classify(section)
            other = seen[kind].get(name.lower())
            if other is not None:
                raise self.error(section, None,
                                 'duplicate section: differs only by case '
                                 'from [%s:%s]' % (kind, other))
            seen[kind][name.lower()] = name
            if kind == 'target':
                targets[name] = self.build_target(section, name, items)
            elif kind == 'mapping':
                mappings[name] = self.build_mapping(section, name, items)
            else:
                clusters[name] = Cluster(name=name, **self.parse_items(
                    section, items, _CLUSTER))
        self.check_references(globals_, targets, mappings, clusters)
        return SwiftSyncConfig(path=self.path, globals=globals_,
                               targets=targets, mappings=mappings,
                               clusters=clusters)

    def read_sections(self, text):
        """[(section name, {key: raw value})] in file order."""
        # here, not at the top: swift.common.utils loads eventlet, which
        # `swiftsync mirror` (no --config) need not
        from swift.common.utils import readconf
        try:
            conf = readconf(_NamedStringIO(text, self.path), raw=True)
        except configparser.DuplicateSectionError as e:
            raise self.error(e.section, None, 'line %s: duplicate section'
                             % e.lineno) from None
        except configparser.DuplicateOptionError as e:
            raise self.error(e.section, e.option, 'line %s: duplicate key'
                             % e.lineno) from None
        except configparser.MissingSectionHeaderError as e:
            # never quote the line: it may hold a secret
            raise self.error(None, None, 'line %s: setting before the first '
                             '[section] header' % e.lineno) from None
        except configparser.ParsingError as e:
            lines = ', '.join(str(lineno) for lineno, _line in e.errors)
            raise self.error(None, None, 'line %s: neither "key = value" nor '
                             'a [section] header' % lines) from None
        except configparser.Error as e:
            raise self.error(None, None, 'not an INI file (%s)'
                             % e.__class__.__name__) from None
        # readconf adds non-section entries (__file__, log_name) to its dict
        sections = [(name, items) for name, items in conf.items()
                    if isinstance(items, dict)]
        # readconf hides [DEFAULT] by copying its keys into every section,
        # which would make them look like unknown keys everywhere: look for
        # the header itself.
        found = set(name for name, _ in sections)
        for line in text.splitlines():
            m = configparser.RawConfigParser.SECTCRE.match(line.strip())
            if m and line[:1] == '[' and m.group('header') not in found:
                header = m.group('header')
                if header == 'DEFAULT':
                    raise self.error(header, None, 'unknown section: '
                                     'swiftsync does not use [DEFAULT]; put '
                                     'global settings in [swiftsync]')
                self.unknown_section(header)
        return sections

    def classify(self, section):
        """(kind, name) of a [kind:name] section, or a ConfigError."""
        kind, sep, name = section.partition(':')
        if sep and kind in _KINDS:
            if not name:
                raise self.error(section, None, 'empty name: use [%s:NAME]'
                                 % kind)
            if not _NAME_RE.fullmatch(name):
                raise self.error(section, None, "invalid name: use letters, "
                                 "digits, '_', '.' and '-'")
            return kind, name
        hint = ''
        if sep:
            close = difflib.get_close_matches(kind.lower(), _KINDS, n=1)
            if close:
                hint = ' (did you mean [%s:%s]?)' % (close[0], name)
        if not hint:
            close = difflib.get_close_matches(
                section.lower(), ('swiftsync',) + _KINDS, n=1)
            if close == ['swiftsync']:
                hint = ' (did you mean [swiftsync]?)'
            elif close:
                hint = ' (did you mean [%s:NAME]?)' % close[0]
        self.unknown_section(section, hint)

    def unknown_section(self, section, hint=''):
        raise self.error(section, None, 'unknown section; expected '
                         '[swiftsync], [target:NAME], [mapping:NAME] or '
                         '[cluster:NAME]%s' % hint)

    def parse_items(self, section, items, schema, other_schema=None,
                    other_type=None):
        """{key: parsed value} for every key of ``schema``, defaults
        included."""
        for key in items:
            if key in schema:
                continue
            if other_schema and key in other_schema:
                reason = ('unknown key for a target of type = %s (it is a '
                          'key of type = %s)' % (items['type'], other_type))
            else:
                reason = 'unknown key' + _did_you_mean(key, schema)
            raise self.error(section, key, reason)
        values = {}
        for key, spec in schema.items():
            raw = items.get(key, '')
            if raw == '':
                if spec.required:
                    raise self.error(section, key, 'is required')
                values[key] = spec.default
                continue
            try:
                values[key] = spec.parser(raw)
            except _NoEcho as e:
                raise self.error(section, key, str(e)) from None
            except ValueError as e:
                reason = str(e)
                if not (spec.secret or key in SECRET_KEYS):
                    reason += '; got %r' % raw
                raise self.error(section, key, reason) from None
        return values

    def build_target(self, section, name, items):
        kind = items.get('type', '')
        if not kind:
            raise self.error(section, 'type', 'is required (s3 or swift)')
        if kind not in ('s3', 'swift'):
            raise self.error(section, 'type', 'must be one of: s3, swift; '
                             'got %r' % kind)
        other = 'swift' if kind == 's3' else 's3'
        values = self.parse_items(section, items, SCHEMA['target:' + kind],
                                  SCHEMA['target:' + other], other)
        del values['type']  # a ClassVar of the dataclass
        if kind == 's3':
            if values['sse_kms_key_id'] and values['sse'] != 'aws:kms':
                raise self.error(section, 'sse_kms_key_id',
                                 'only valid with sse = aws:kms')
            return S3Target(name=name, **values)
        if values['application_credential_id']:
            if values['auth_version'] != 3:
                raise self.error(section, 'application_credential_id',
                                 'needs auth_version = 3')
            if not values['application_credential_secret']:
                raise self.error(section, 'application_credential_secret',
                                 'is required with '
                                 'application_credential_id')
            return SwiftTarget(name=name, **values)
        for key in ('user', 'key'):
            if not values[key]:
                # (the help says: or an application credential)
                raise self.error(section, key, 'is required')
        if values['auth_version'] == 3 and not values['project_name']:
            raise self.error(section, 'project_name',
                             'is required with auth_version = 3')
        return SwiftTarget(name=name, **values)

    def build_mapping(self, section, name, items):
        return Mapping(name=name, **self.parse_items(section, items,
                                                     _MAPPING))

    def check_references(self, globals_, targets, mappings, clusters):
        if globals_.cluster is not None and globals_.cluster not in clusters:
            raise self.error('swiftsync', 'cluster', 'no [cluster:%s] '
                             'section%s' % (globals_.cluster, _did_you_mean(
                                 globals_.cluster, clusters)))
        owners = {}
        for name, m in mappings.items():
            section = 'mapping:' + name
            if m.target not in targets:
                raise self.error(section, 'target', 'unknown target %r: no '
                                 '[target:%s] section%s' % (
                                     m.target, m.target,
                                     _did_you_mean(m.target, targets)))
            where = (m.account, m.container)
            if where in owners:
                raise self.error(section, 'container', '%s/%s is already '
                                 'mapped by [mapping:%s]'
                                 % (m.account, m.container, owners[where]))
            owners[where] = name


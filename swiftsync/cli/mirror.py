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

"""``swiftsync mirror 'SRC->DST' ...``: bring one store in line with another.

Exit codes: 0 everything done, 1 some objects failed, 2 usage, credentials,
a missing bucket/container, or another run holding ``--lock``.
"""

import logging
import os
import sys
import threading
import time

from swiftsync import config
from swiftsync.lockfile import LockBusy, run_lock
from swiftsync.mirror import report
from swiftsync.mirror.job import Mirror, MirrorError, Options
from swiftsync.mirror.scenario import ScenarioError, parse_scenario, resolve
from swiftsync.stores import open_store
from swiftsync.throttle import Bandwidth

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SWIFT_MAX_SEGMENT = 5 * 1024 ** 3


def _size(value):
    try:
        return config.parse_size(value)
    except ValueError as e:
        raise ValueError('%r: %s' % (value, e))


def register(subparsers):
    p = subparsers.add_parser(
        'mirror', help='mirror S3 buckets and Swift containers, once',
        description="Mirror between S3 buckets and Swift containers: "
                    "swiftsync mirror 's3://bucket[/prefix]->"
                    "swift://container[/prefix]' ...  A side may name a "
                    "profile, s3://PROFILE@bucket, a [target:PROFILE] of "
                    "--config; otherwise credentials come from the "
                    "environment (AWS_*, ST_* or OS_*).")
    p.add_argument('scenarios', nargs='+', metavar="'SRC->DST'")
    p.add_argument('--config', help='swiftsync.conf-style file whose '
                   '[target:NAME] sections are profiles')
    p.add_argument('--workers', type=int, default=8,
                   help='parallel transfers (default 8)')
    p.add_argument('--max-size', type=_size, metavar='BYTES',
                   help='skip (and list) objects larger than this')
    p.add_argument('--segment-size', type=_size, default=1 << 30,
                   metavar='BYTES', help='above this, objects go to Swift '
                   'as an SLO and to S3 as a multipart upload (default 1Gi, '
                   'at most 5Gi)')
    p.add_argument('--dry-run', action='store_true',
                   help='say what would be done, change nothing')
    p.add_argument('--delete', action='store_true',
                   help='delete destination objects missing at the source')
    p.add_argument('--max-delete', type=int, metavar='N',
                   help='with --delete: refuse to delete more than N')
    p.add_argument('--include', action='append', default=[],
                   metavar='GLOB', help='only names matching (repeatable)')
    p.add_argument('--exclude', action='append', default=[],
                   metavar='GLOB', help='skip names matching (repeatable)')
    compare = p.add_mutually_exclusive_group()
    compare.add_argument('--checksum', action='store_true', default=True,
                         help='compare size and content hash (default)')
    compare.add_argument('--size-only', action='store_true',
                         help='compare sizes only')
    p.add_argument('--bwlimit', type=_size, metavar='BYTES_PER_S',
                   help='total bandwidth limit, e.g. 10Mi')
    p.add_argument('--retries', type=int, default=3,
                   help='retries per request on 5xx/throttling (default 3)')
    p.add_argument('--lock', metavar='FILE',
                   help='hold this lock file for the run')
    p.add_argument('--lock-wait', type=float, default=0, metavar='SECONDS',
                   help='wait this long for --lock (default: exit at once)')
    p.add_argument('--report', metavar='FILE',
                   help='write a JSON report (copied, skipped, deleted, '
                   'failed, bytes, seconds)')
    p.add_argument('--mail-to', action='append', default=[],
                   metavar='ADDRESS', help='mail the summary (repeatable)')
    p.add_argument('--mail-from', default='swiftsync@localhost')
    p.add_argument('--subject', default='swiftsync mirror report')
    p.add_argument('--smtp-host', default='localhost:25')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress line even on a terminal')
    p.add_argument('--debug', action='store_true')
    p.set_defaults(func=cmd_mirror)


def _error(msg):
    print('swiftsync mirror: error: %s' % msg, file=sys.stderr)
    return EXIT_USAGE


class Progress(object):
    """A progress line on a terminal, at most a few times a second."""

    def __init__(self, stats, stream=sys.stderr):
        self.stats, self.stream = stats, stream
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self, force=False):
        now = time.time()
        with self._lock:
            if not force and now - self._last < 0.25:
                return
            self._last = now
        c = self.stats.counts
        self.stream.write('\rcopied %d  skipped %d  deleted %d  failed %d  '
                          '%s' % (c['copied'] + c['updated'], c['skipped'],
                                  c['deleted'], c['failed'],
                                  report.human_bytes(self.stats.bytes)))
        self.stream.flush()


def cmd_mirror(args):
    logging.basicConfig(level=logging.DEBUG if args.debug else
                        logging.WARNING, stream=sys.stderr,
                        format='%(levelname)s %(name)s: %(message)s')
    if args.segment_size > SWIFT_MAX_SEGMENT:
        return _error('--segment-size may not exceed 5Gi (Swift refuses '
                      'larger segments)')
    if args.workers < 1:
        return _error('--workers must be at least 1')
    try:
        conf = config.load(args.config) if args.config else None
        scenarios = []
        for text in args.scenarios:
            src, dst = parse_scenario(text)
            scenarios.append((text, src, dst, resolve(src, conf),
                              resolve(dst, conf)))
    except (ScenarioError, config.ConfigError) as e:
        return _error(e)

    stats = report.Stats()
    progress = None
    if sys.stderr.isatty() and not args.no_progress:
        progress = Progress(stats)
    options = Options(
        workers=args.workers, max_size=args.max_size, dry_run=args.dry_run,
        delete=args.delete, max_delete=args.max_delete,
        include=args.include, exclude=args.exclude,
        size_only=args.size_only, segment_size=args.segment_size,
        bandwidth=Bandwidth(args.bwlimit) if args.bwlimit else None,
        retries=args.retries, progress=progress)
    try:
        if args.lock:
            with run_lock(args.lock, wait=args.lock_wait):
                code = _run(scenarios, options, stats)
        else:
            code = _run(scenarios, options, stats)
    except LockBusy as e:
        return _error(e)
    if progress:
        progress(force=True)
        sys.stderr.write('\n')
    if code != EXIT_USAGE:
        print(stats.summary(args.dry_run))
    if args.report:
        report.write_report(args.report, stats, args.dry_run)
    if args.mail_to:
        try:
            report.send_mail(stats, args.mail_to, args.mail_from,
                             args.subject, args.smtp_host, args.dry_run)
        except OSError as e:
            print('swiftsync mirror: cannot send mail via %s: %s'
                  % (args.smtp_host, e), file=sys.stderr)
            code = code or EXIT_FAILED
    if getattr(args, 'own_process', False):
        # all is said and written: skip the interpreter's clean-up, which
        # spends 0.2-0.5 s freeing botocore's service models
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _store(target, side):
    # soon: botocore loads while the source is authenticated and listed
    return open_store(target, '', side.location, soon=True)


def _run(scenarios, options, stats):
    for text, src, dst, src_target, dst_target in scenarios:
        job = Mirror(text, _store(src_target, src), _store(dst_target, dst),
                     src.prefix, dst.prefix, options, stats)
        try:
            job.run()
        except MirrorError as e:
            _error('%s: %s' % (text, e))
            return EXIT_USAGE
    return EXIT_FAILED if stats.counts['failed'] else EXIT_OK

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

"""What a mirror run did: counters, the summary, the JSON report, the mail."""

import json
import threading
import time

COUNTERS = ('copied', 'updated', 'skipped', 'deleted', 'failed',
            'too_large', 'excluded')


class Stats(object):
    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.time()
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.bytes = 0
        self.failures = []     # (scenario, name, reason)
        self.skipped_large = []

    def add(self, counter, n=1, nbytes=0):
        with self._lock:
            self.counts[counter] += n
            self.bytes += nbytes

    def fail(self, scenario, name, reason):
        with self._lock:
            self.counts['failed'] += 1
            self.failures.append((scenario, name, reason))

    def as_dict(self, dry_run=False):
        d = dict(self.counts)
        d.update(bytes=self.bytes, seconds=round(time.time() -
                                                 self.started, 3),
                 dry_run=dry_run,
                 failures=[{'scenario': s, 'name': n, 'reason': r}
                           for s, n, r in self.failures],
                 too_large_objects=[{'scenario': s, 'name': n, 'size': z}
                                    for s, n, z in self.skipped_large])
        return d

    def summary(self, dry_run=False):
        d = self.as_dict(dry_run)
        verb = 'would copy' if dry_run else 'copied'
        line = ('%s%s %d, updated %d, skipped %d (unchanged), deleted %d, '
                'failed %d, too large %d; %s in %.1f s' % (
                    '[dry run] ' if dry_run else '', verb, d['copied'],
                    d['updated'], d['skipped'], d['deleted'], d['failed'],
                    d['too_large'], human_bytes(d['bytes']), d['seconds']))
        lines = [line]
        for s, n, r in self.failures[:50]:
            lines.append('FAILED %s: %s: %s' % (s, n, r))
        for s, n, size in self.skipped_large[:50]:
            lines.append('too large (%s > --max-size) %s: %s'
                         % (human_bytes(size), s, n))
        return '\n'.join(lines)


def human_bytes(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if n < 1024 or unit == 'TiB':
            return ('%d %s' % (n, unit)) if unit == 'B' else (
                '%.1f %s' % (n, unit))
        n /= 1024.0


def write_report(path, stats, dry_run=False):
    with open(path, 'w') as f:
        json.dump(stats.as_dict(dry_run), f, indent=2)


def send_mail(stats, mail_to, mail_from, subject, smtp_host, dry_run=False):
    # here, not at the top: most runs mail nothing (start-up time)
    import smtplib
    from email.message import EmailMessage
    host, _, port = smtp_host.partition(':')
    msg = EmailMessage()
    msg['To'] = ', '.join(mail_to)
    msg['From'] = mail_from
    msg['Subject'] = subject
    msg.set_content(stats.summary(dry_run) + '\n')
    with smtplib.SMTP(host, int(port or 25), timeout=30) as smtp:
        smtp.send_message(msg)

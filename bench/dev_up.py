"""dev_up: how long `swiftsync dev up` takes for two clusters and SeaweedFS.

There is no peer for this one: the issue's budget (20 s, "well under") is
the yardstick, so "peer" is the budget and ratio = budget / ours.
"""

import tempfile

from common import Deployment, median, parser, report, timed

BUDGET_S = 20.0


def main():
    args = parser(__doc__).parse_args()
    runs = 1 if args.quick else 3
    times = []
    for _ in range(runs):
        dep = Deployment(tempfile.mkdtemp(prefix='swiftsync-bench-'))
        seconds, _ = timed(dep.up, clusters=2, s3='seaweedfs',
                           base_port=args.base_port)
        down_s, _ = timed(dep.down)
        times.append(seconds)
        print('up %.2f s, down %.2f s' % (seconds, down_s))
    ours = median(times)
    report('dev_up', ours, BUDGET_S, 's', 'ours < 20 s (ratio >= 1)',
           higher_is_better=False, runs=runs,
           note='peer is the budget: no external peer for this one')


if __name__ == '__main__':
    main()

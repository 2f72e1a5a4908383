"""`--metrics FILE`: the run in Prometheus' text format, for node_exporter's textfile collector
or a Pushgateway, written atomically when the run ends. prometheus_client writes it, imported
only then: it adds about 11 ms to what fetchcli imports anyway (90 ms alone), a fair price for
a writer that gets the format's escaping and histogram rules right.

    fetchcli_urls{result="ok"|"failed"}          fetchcli_errors{kind="..."}
    fetchcli_responses{code="..."}               fetchcli_urls_skipped{reason="..."}
    fetchcli_run_duration_seconds                fetchcli_last_run_timestamp_seconds
    fetchcli_run_interrupted                     fetchcli_request_duration_seconds (histogram)

Every series also carries the run's labels (settings/build.py: `run`, `shard`, --metrics-label), so
that the files of several runs read by one node_exporter never hold the same series: it keeps
the first and drops the others. The counts are gauges: each run starts them from 0, and a file
holds one run. The histogram stays a histogram: the text format node_exporter reads has no
gauge histogram (prometheus_client writes one as buckets without `_count` and `_sum`, which
node_exporter then serves as 0), and a histogram's buckets starting again from 0 at each run
is what Prometheus expects of any process that restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fetchcli.models import ErrorKind, Summary

# Seconds; the histogram's cumulative counts come from Summary.latencies (5 % buckets).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def write_metrics(
    path: Path,
    summary: Summary,
    *,
    labels: Sequence[tuple[str, str]] = (),
    wall: Callable[[], float] = time.time,
) -> None:
    """Write FILE whole or not at all (OSError: nothing was replaced)."""
    from prometheus_client import CollectorRegistry, write_to_textfile

    registry = CollectorRegistry(auto_describe=True)
    registry.register(_RunCollector(summary, wall(), dict(labels)))
    write_to_textfile(str(path), registry)  # a temporary file renamed into place


class _RunCollector:
    def __init__(self, summary: Summary, ended: float, labels: Mapping[str, str]) -> None:
        self._summary = summary
        self._ended = ended
        self._names = list(labels)
        self._values = list(labels.values())

    def collect(self) -> Iterator[Any]:
        summary = self._summary
        yield self._by(
            "fetchcli_urls", "URLs fetched, by outcome", "result",
            {"ok": summary.ok, "failed": summary.failed},
        )  # fmt: skip
        # Every kind, 0 included: an alert on one kind resolves instead of losing its series.
        errors: dict[str, int] = {str(kind): 0 for kind in ErrorKind}
        errors.update((k, n) for k, n in summary.failures_by_kind.items() if k in errors)
        yield self._by("fetchcli_errors", "URLs failed with an error", "kind", errors)
        responses = {str(code): n for code, n in sorted(summary.responses.items())}
        yield self._by("fetchcli_responses", "Final responses, by status", "code", responses)
        if summary.checks_failed:
            checks = dict(sorted(summary.checks_failed.items()))
            yield self._by("fetchcli_check_failures", "URLs that failed a check", "check", checks)
        skipped = dict(sorted(summary.skipped.items()))
        yield self._by("fetchcli_urls_skipped", "URLs left out", "reason", skipped)
        if summary.elapsed is not None:  # --merge: the shards' runs had their own
            yield self._gauge(
                "fetchcli_run_duration_seconds", "How long the run took", summary.elapsed
            )
        yield self._gauge("fetchcli_last_run_timestamp_seconds", "When the run ended", self._ended)
        yield self._gauge(
            "fetchcli_run_interrupted",
            "1 when a signal stopped the run",
            int(summary.signal is not None),
        )
        if summary.earliest_expiry is not None:  # blackbox_exporter's, for its alert rules
            yield self._gauge(
                "fetchcli_ssl_earliest_cert_expiry",
                "The soonest expiry of a certificate seen, as a Unix time (--tls-info)",
                summary.earliest_expiry,
            )
        yield self._histogram()
        if summary.phases:
            yield self._phase_histogram()

    def _gauge(self, name: str, documentation: str, value: float) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        metric = GaugeMetricFamily(name, documentation, labels=self._names)
        metric.add_metric(self._values, value)
        return metric

    def _by(self, name: str, documentation: str, label: str, counts: Mapping[str, int]) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        metric = GaugeMetricFamily(name, documentation, labels=[*self._names, label])
        for value, count in counts.items():
            metric.add_metric([*self._values, value], count)
        return metric

    def _phase_histogram(self) -> Any:
        """--timings: where the time went, a histogram per phase (queue, dns, connect, tls,
        ttfb, total) of the URLs that were answered."""
        from prometheus_client.core import HistogramMetricFamily

        metric = HistogramMetricFamily(
            "fetchcli_phase_duration_seconds",
            "Time per URL in each phase (--timings)",
            labels=[*self._names, "phase"],
        )
        for phase, times in self._summary.phases.items():
            buckets = [(str(bound), times.at_most(bound)) for bound in BUCKETS]
            metric.add_metric(
                [*self._values, phase],
                buckets=[*buckets, ("+Inf", times.count)],
                sum_value=times.total,
            )
        return metric

    def _histogram(self) -> Any:
        from prometheus_client.core import HistogramMetricFamily

        times = self._summary.latencies
        buckets = [(str(bound), times.at_most(bound)) for bound in BUCKETS]
        metric = HistogramMetricFamily(
            "fetchcli_request_duration_seconds",
            "Time per URL, first attempt to last byte",
            labels=self._names,
        )
        metric.add_metric(
            self._values, buckets=[*buckets, ("+Inf", times.count)], sum_value=times.total
        )
        return metric

"""`--metrics FILE`: the run in Prometheus' text format, for node_exporter's textfile collector,
written atomically when the run ends. prometheus_client writes it, imported only then: it adds
about 11 ms to what fetchcli imports anyway (90 ms alone), a fair price for a writer that gets
the format's escaping and histogram rules right.

    fetchcli_urls_total{result="ok"|"failed"}    fetchcli_errors_total{kind="..."}
    fetchcli_responses_total{code="..."}         fetchcli_urls_skipped_total{reason="..."}
    fetchcli_run_duration_seconds                fetchcli_last_run_timestamp_seconds
    fetchcli_run_interrupted                     fetchcli_request_duration_seconds (histogram)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fetchcli.models import Summary

# Seconds; the histogram's cumulative counts come from Summary.latencies (5 % buckets).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def write_metrics(path: Path, summary: Summary, *, wall: Callable[[], float] = time.time) -> None:
    from prometheus_client import CollectorRegistry, write_to_textfile

    registry = CollectorRegistry(auto_describe=True)
    registry.register(_RunCollector(summary, wall()))
    write_to_textfile(str(path), registry)  # a temporary file renamed into place


class _RunCollector:
    def __init__(self, summary: Summary, ended: float) -> None:
        self._summary = summary
        self._ended = ended

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        summary = self._summary
        urls = CounterMetricFamily("fetchcli_urls", "URLs fetched, by outcome", labels=["result"])
        urls.add_metric(["ok"], summary.ok)
        urls.add_metric(["failed"], summary.failed)
        yield urls
        errors = {k: n for k, n in summary.failures_by_kind.items() if not k.startswith("http ")}
        responses = {str(code): n for code, n in summary.responses.items()}
        yield _counters("fetchcli_errors", "URLs failed with an error", "kind", errors)
        yield _counters("fetchcli_responses", "Final responses, by status", "code", responses)
        yield _counters("fetchcli_urls_skipped", "URLs left out", "reason", dict(summary.skipped))
        if summary.elapsed is not None:  # --merge: the shards' runs had their own
            yield GaugeMetricFamily(
                "fetchcli_run_duration_seconds", "How long the run took", value=summary.elapsed
            )
        yield GaugeMetricFamily(
            "fetchcli_last_run_timestamp_seconds", "When the run ended", value=self._ended
        )
        yield GaugeMetricFamily(
            "fetchcli_run_interrupted",
            "1 when a signal stopped the run",
            value=int(summary.signal is not None),
        )
        times = summary.latencies
        buckets = [(str(bound), times.at_most(bound)) for bound in BUCKETS]
        yield HistogramMetricFamily(
            "fetchcli_request_duration_seconds",
            "Time per URL, first attempt to last byte",
            buckets=[*buckets, ("+Inf", times.count)],
            sum_value=times.total,
        )


def _counters(name: str, documentation: str, label: str, values: dict[str, int]) -> Any:
    from prometheus_client.core import CounterMetricFamily

    metric = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(values.items()):
        metric.add_metric([value], count)
    return metric

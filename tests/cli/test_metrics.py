"""--metrics as node_exporter's textfile collector reads it: the files of several runs side by
side (each run's own labels, --metrics-label), per-run counts as gauges, and a metrics file
that cannot be written (one line after the summary, exit 2, everything else written)."""

from __future__ import annotations

import errno
import json
import os
import selectors
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fetchcli.settings.parse import METRICS_OWN_LABELS
from tests.conftest import RunCli
from tests.dns_server import sandbox_available
from tests.helpers import FETCHCLI, TIMEOUT, subprocess_env
from tests.server import TestServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def textfile_problems(paths: Iterable[Path]) -> list[str]:
    """What node_exporter's textfile collector refuses when it reads these files together: a
    family whose type or help differs from one file to another (the scrape fails), a sample
    with the name and label values of one read before (dropped, "was collected before with
    the same name and label values")."""
    families: dict[str, tuple[str, str, str]] = {}
    seen: dict[tuple[str, frozenset[tuple[str, str]]], str] = {}
    problems = []
    for path in paths:
        for family in text_string_to_metric_families(path.read_text()):
            kind = families.setdefault(family.name, (family.type, family.documentation, path.name))
            if kind[:2] != (family.type, family.documentation):
                problems.append(f"{family.name}: {kind[2]} and {path.name} differ in type or help")
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                if key in seen:
                    problems.append(f"{sample.name}{sample.labels}: in {seen[key]} and {path.name}")
                seen.setdefault(key, path.name)
    return problems


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _run_shards(run_cli: RunCli, server: TestServer, tmp_path: Path) -> list[Path]:
    """Two shards of one list, each with its metrics file in one textfile directory."""
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{server.url}/ok?{n}\n" for n in range(12)))
    textfiles = tmp_path / "textfile"
    textfiles.mkdir(exist_ok=True)
    files = []
    for shard in (0, 1):
        metrics = textfiles / f"shard-{shard}.prom"
        run_cli(
            str(listing), "--shard", f"{shard}/2", "--shard-base", "0", "--metrics", str(metrics)
        )
        files.append(metrics)
    return files


def test_two_shards_metrics_files_never_collide(run_cli: RunCli, server, tmp_path) -> None:
    """Two shards' files in one textfile directory: every series of each is told apart by the
    run and shard labels (nothing dropped), and their counts add up to the list."""
    files = _run_shards(run_cli, server, tmp_path)
    assert textfile_problems(files) == []
    ok = [_samples(f.read_text())["fetchcli_urls", _labels(result="ok", run=f.stem, shard=str(i))]
          for i, f in enumerate(files)]  # fmt: skip
    assert sum(ok) == 12 and all(ok)
    for index, path in enumerate(files):
        samples = _samples(path.read_text())
        own = _labels(run=f"shard-{index}", shard=str(index))
        assert samples["fetchcli_last_run_timestamp_seconds", own] > 1.7e9
        assert samples["fetchcli_request_duration_seconds_count", own] == ok[index]


def test_the_collision_check_sees_collisions(run_cli: RunCli, server, tmp_path) -> None:
    """The check above can fail: two runs whose files have the same name (in two directories,
    say two cron jobs) collide, until --metrics-label tells them apart."""
    url = f"{server.url}/ok"
    first, second = tmp_path / "a" / "fetchcli.prom", tmp_path / "b" / "fetchcli.prom"
    for path in (first, second):
        path.parent.mkdir()
        run_cli("--metrics", str(path), url)
    assert any("fetchcli_urls" in problem for problem in textfile_problems([first, second]))
    for path in (first, second):
        run_cli("--metrics", str(path), "--metrics-label", f"site={path.parent.name}", url)
    assert textfile_problems([first, second]) == []
    assert _samples(second.read_text())["fetchcli_urls", _labels(result="ok", run="fetchcli",
                                                                 site="b")] == 1  # fmt: skip


def test_per_run_counts_are_gauges(run_cli: RunCli, server, tmp_path) -> None:
    """The counts start from 0 at every run, so they are gauges, under names without _total;
    every error kind is there, 0 included; the request times stay a histogram."""
    metrics = tmp_path / "nightly.prom"
    run_cli("--metrics", str(metrics), f"{server.url}/ok", "http://127.0.0.1:9/", expect=1)
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    for name in ("fetchcli_urls", "fetchcli_errors", "fetchcli_responses",
                 "fetchcli_urls_skipped", "fetchcli_run_duration_seconds",
                 "fetchcli_last_run_timestamp_seconds", "fetchcli_run_interrupted"):  # fmt: skip
        assert families[name].type == "gauge", name
    assert families["fetchcli_request_duration_seconds"].type == "histogram"
    assert "_total" not in metrics.read_text()
    samples = _samples(metrics.read_text())
    assert samples["fetchcli_errors", _labels(kind="connect", run="nightly")] == 1
    assert samples["fetchcli_errors", _labels(kind="timeout", run="nightly")] == 0
    own = {name for name, _ in _labels(run="", shard="")}
    names = {name for _, labels in samples for name, _ in labels} - own
    assert names <= set(METRICS_OWN_LABELS)  # what --metrics-label may not be named


def test_a_metrics_label_replaces_a_default_or_drops_it(run_cli: RunCli, server, tmp_path):
    """--metrics-label run=X replaces the default run label; an empty value leaves it out."""
    metrics, url = tmp_path / "m.prom", f"{server.url}/ok"
    run_cli("--metrics", str(metrics), "--metrics-label", "run=nightly", "--shard", "1/1", url)
    assert ("fetchcli_urls", _labels(result="ok", run="nightly", shard="1")) in _samples(
        metrics.read_text()
    )
    run_cli("--metrics", str(metrics), "--metrics-label", "run=", url)
    assert ("fetchcli_urls", _labels(result="ok")) in _samples(metrics.read_text())


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("site", "must be KEY=VALUE, got 'site'"),
        ("1st=x", "'1st' is not a Prometheus label name"),
        ("__name__=x", "'__name__': names starting with __ are Prometheus' own"),
        ("le=1", "'le' is a label of fetchcli's own series"),
        ("kind=x", "'kind' is a label of fetchcli's own series"),
        ("job=x", "'job' is attached by Prometheus when it scrapes"),
        ("instance=x", "'instance' is attached by Prometheus when it scrapes"),
    ],
)
def test_bad_metrics_labels_are_usage_errors(run_cli: RunCli, tmp_path, label, problem) -> None:
    """A label Prometheus would refuse, or one that clashes, is exit 2 before any fetch."""
    metrics = tmp_path / "m.prom"
    result = run_cli(
        "--metrics", str(metrics), "--metrics-label", label, "http://a.test/", expect=2
    )
    assert result.stderr.startswith(f"fetchcli: error: --metrics-label: {problem}")
    assert not metrics.exists()


def test_a_metrics_label_given_twice(run_cli: RunCli, tmp_path) -> None:
    """The same key twice is a mistake, not a choice of one of them."""
    args = ("--metrics", str(tmp_path / "m.prom"), "--metrics-label", "a=1", "--metrics-label")
    result = run_cli(*args, "a=2", "http://a.test/", expect=2)
    assert result.stderr == "fetchcli: error: --metrics-label: 'a' given twice\n"


def test_a_metrics_label_without_metrics_is_warned_about(run_cli: RunCli, server) -> None:
    """--metrics-label without --metrics has nothing to label: said, not silent."""
    result = run_cli("--metrics-label", "a=1", f"{server.url}/ok")
    assert "fetchcli: warning: --metrics-label: ignored without --metrics" in result.stderr


def test_the_api_refuses_metrics_labels() -> None:
    """fetchcli.fetch() writes no metrics file, so it has no labels for one."""
    import fetchcli

    with pytest.raises(ValueError, match="metrics_labels: not an option of fetchcli.fetch"):
        fetchcli.fetch(["http://a.test/"], metrics_labels=["a=1"])


# --- a real node_exporter ------------------------------------------------------------------

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """node_exporter with only its textfile collector, on a free port of 127.0.0.1."""
    if NODE_EXPORTER is None:
        pytest.skip("no node_exporter (apt-get install prometheus-node-exporter)")
    directory = tmp_path / "textfile"
    directory.mkdir(exist_ok=True)
    args = [NODE_EXPORTER, "--collector.disable-defaults", "--collector.textfile"]
    args += [f"--collector.textfile.directory={directory}", "--web.listen-address=127.0.0.1:0"]
    process = subprocess.Popen(args, stderr=subprocess.PIPE)
    try:
        yield directory, process
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
        assert process.stderr is not None
        process.stderr.close()


def _listening(process: subprocess.Popen[bytes]) -> str:
    """The address node_exporter says it listens on (port 0: the kernel chose one)."""
    assert process.stderr is not None
    deadline, said = time.monotonic() + TIMEOUT, b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while b"Listening on" not in said and selector.select(deadline - time.monotonic()):
            chunk = os.read(process.stderr.fileno(), 4096)  # unbuffered: select sees the rest
            if not chunk:
                break
            said += chunk
    for line in said.decode().splitlines():
        if "Listening on" in line:
            return line.rsplit("address=", 1)[1].split()[0]
    raise AssertionError(f"node_exporter did not say where it listens: {said!r}")


def test_two_shards_through_a_real_node_exporter(
    run_cli: RunCli, server: TestServer, tmp_path: Path, node_exporter
) -> None:
    """node_exporter serves the series of both shards' files, none dropped, and logs no
    gathering error (a duplicate sets no scrape error metric: only the log tells)."""
    directory, process = node_exporter
    address = _listening(process)
    for path in _run_shards(run_cli, server, tmp_path):  # the same directory as the fixture's
        assert path.parent == directory
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=TIMEOUT) as response:
        samples = _samples(response.read().decode())
    process.terminate()
    assert process.stderr is not None
    log = process.stderr.read().decode()
    assert "error gathering metrics" not in log and "collected before" not in log
    assert samples["node_textfile_scrape_error", frozenset()] == 0
    stamps = [samples["fetchcli_last_run_timestamp_seconds", _labels(run=f"shard-{s}", shard=s)]
              for s in ("0", "1")]  # fmt: skip
    assert all(stamp > 1.7e9 for stamp in stamps)
    ok = sum(
        samples["fetchcli_urls", _labels(result="ok", run=f"shard-{s}", shard=s)] for s in "01"
    )
    assert ok == 12
    count = _labels(run="shard-0", shard="0")
    assert samples["fetchcli_request_duration_seconds_count", count] > 0  # not a gauge histogram


# --- a metrics file that cannot be written -------------------------------------------------


def test_a_failing_metrics_write_is_one_line_after_the_summary(
    run_cli: RunCli, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills before the metrics are written: the summary, then one line, exit 2;
    --records, --failed-out and --state are written all the same."""
    import prometheus_client

    def full(path: str, registry: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(prometheus_client, "write_to_textfile", full)
    metrics, records = tmp_path / "m.prom", tmp_path / "records.jsonl"
    failed, state = tmp_path / "failed.txt", tmp_path / "state.db"
    urls = [f"{server.url}/ok", f"{server.url}/status/404"]
    files = ("--records", str(records), "--failed-out", str(failed), "--state", str(state))
    result = run_cli("--metrics", str(metrics), *files, *urls, expect=2)
    *_, summary, error = result.stderr.splitlines()
    assert summary.startswith("fetchcli: 1 ok, 1 failed")
    assert (
        error == f"fetchcli: error: --metrics: cannot write to '{metrics}': No space left on device"
    )
    assert len(records.read_text().splitlines()) == 2 and len(result.records) == 2
    assert failed.read_text() == f"# http 404: Not Found\n{urls[1]}\n"
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM urls").fetchone() == (2,)


needs_sandbox = pytest.mark.skipif(
    not sandbox_available(), reason="needs root and unshare -m for a full tmpfs of its own"
)


@needs_sandbox
def test_a_full_filesystem_under_metrics(server: TestServer, tmp_path: Path) -> None:
    """--metrics on a real full tmpfs: no traceback, the summary, then one line, exit 2; the
    records (elsewhere) are all written."""
    full, records = tmp_path / "full", tmp_path / "records.jsonl"
    full.mkdir()
    metrics = full / "fetchcli.prom"
    fill = 'mount -t tmpfs -o size=8k tmpfs "$1" && head -c 8192 /dev/zero > "$1/fill"'
    script = f'{fill}; shift; exec "$@"'
    command = ["unshare", "-m", "--", "sh", "-c", script, "sh", str(full), *FETCHCLI]
    command += ["--records", str(records), "--metrics", str(metrics), f"{server.url}/ok"]
    proc = subprocess.run(command, capture_output=True, env=subprocess_env(), timeout=TIMEOUT)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    *_, summary, error = stderr.splitlines()
    assert summary.startswith("fetchcli: 1 ok, 0 failed")
    assert (
        error == f"fetchcli: error: --metrics: cannot write to '{metrics}': No space left on device"
    )
    assert [json.loads(line)["status"] for line in records.read_text().splitlines()] == [200]
    assert [json.loads(line)["status"] for line in proc.stdout.decode().splitlines()] == [200]
    assert not metrics.exists()

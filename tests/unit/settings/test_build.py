"""config_from: options named as the long flags become one Config, text parsed as the command
line parses it, every value checked, and a bad one an OptionError that names its flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fetchcli.settings.build import OptionError, config_from, known_options
from fetchcli.settings.model import Config, Format, Order, Shard, Transport

URL = "https://a.test/"


def _error(options: dict[str, Any], sources: tuple[str, ...] = (URL,)) -> str:
    with pytest.raises(OptionError) as caught:
        config_from(sources, options)
    return str(caught.value)


def test_no_options_are_the_defaults() -> None:
    """Left out or None, an option keeps its default; auto means curl."""
    config = config_from([URL], {"concurrency": None, "max_size": None})
    pool = Config().pool
    assert config.pool.concurrency == pool.concurrency
    assert config.output == Config().output
    assert config.pool.transport is Transport.CURL
    assert (config.sources, config.request.method, config.warnings) == ((URL,), "GET", ())


def test_text_is_parsed_as_on_the_command_line() -> None:
    """`max_size="10MB"` is --max-size 10MB; numbers, enums' values and paths as well."""
    config = config_from(
        ["urls.txt"],
        {"max_size": "10MB", "rate": "600/m", "format": "csv", "order": "completion",
         "records": "out.jsonl", "shard": "2/4", "headers": "X-A: 1", "data": "a=1"},
    )  # fmt: skip
    assert (config.output.max_size, config.pool.rate) == (10_000_000, 10.0)
    assert (config.output.format, config.output.order) == (Format.CSV, Order.COMPLETION)
    assert config.output.records == Path("out.jsonl")
    assert config.input.shard == Shard(2, 4)
    assert config.request.headers == (("X-A", "1"),)
    assert (config.request.data, config.request.method) == (b"a=1", "POST")  # -d means POST
    assert config.pool.transport is Transport.CURL  # auto


def test_values_already_parsed_are_taken_as_they_are() -> None:
    config = config_from([URL], {"max_size": 1234, "headers": [("X-B", "2")], "method": "put"})
    assert config.output.max_size == 1234
    assert config.request.headers == (("X-B", "2"),)
    assert config.request.method == "PUT"


@pytest.mark.parametrize(
    ("options", "connect", "read", "max_time"),
    [({}, 10.0, 10.0, None),
     ({"timeout": 3}, 3, 3, None),
     ({"timeout": 3, "connect_timeout": 1}, 1, 3, None),  # the one named wins
     ({"timeout": 0, "max_time": 0}, None, None, None),  # 0 is no limit
     ({"read_timeout": 0, "max_time": 20}, 10.0, None, 20)],
)  # fmt: skip
def test_timeout_is_the_default_of_the_four(options, connect, read, max_time) -> None:
    timeouts = config_from([URL], options).timeouts
    assert (timeouts.connect_timeout, timeouts.read_timeout, timeouts.max_time) == (
        connect,
        read,
        max_time,
    )
    assert timeouts.pool_timeout == (options.get("timeout", 10.0) or None)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"no_such": 1}, "--no-such: no such option"),
     ({"concurrency": 0}, "--concurrency: must be at least 1, got 0"),
     ({"workers": -1}, "--workers: must be at least 1, got -1"),
     ({"retries": -1}, "--retries: must not be negative, got -1"),
     ({"max_size": "lots"}, "--max-size: "),
     ({"format": "xml"}, "--format: "),
     ({"headers": ["X-A: b\r\nX-B: c"]}, "-H: "),
     ({"method": "GET /x"}, "--method: not an HTTP method: 'GET /x'"),
     ({"metrics_labels": ["a=1", "a=2"]}, "--metrics-label: 'a' given twice"),
     ({"shard_base": 2}, "--shard-base: must be 0 or 1, got 2"),
     ({"http2": True, "transport": "aiohttp"}, "--http2: needs --transport httpcore"),
     ({"changed_only": True}, "--changed-only: needs --state FILE"),
     ({"changed_only": True, "state": "s.db", "format": "body"}, "--changed-only: filters"),
     ({"where": "status == 200", "format": "body"}, "--where: filters records")],
)  # fmt: skip
def test_a_bad_option_names_its_flag(options: dict[str, Any], message: str) -> None:
    assert _error(options).startswith(message)


def test_an_option_error_is_a_value_error_with_its_parts() -> None:
    """The API raises ValueError; the command line reads which flag and what is wrong."""
    with pytest.raises(ValueError) as caught:
        config_from([URL], {"concurrency": 0})
    assert isinstance(caught.value, OptionError)
    assert (caught.value.option, caught.value.problem) == (
        "concurrency",
        "must be at least 1, got 0",
    )


def test_every_option_is_known_by_its_field_name() -> None:
    """Each Config field is an option (so the API takes every flag), and the shorthands too."""
    assert {"concurrency", "max_size", "headers", "state", "timeout", "shard_base"} <= (
        known_options()
    )
    assert "sources" not in known_options() and "warnings" not in known_options()


def test_shard_base_zero_counts_from_zero() -> None:
    """Kubernetes' JOB_COMPLETION_INDEX goes in as it is: 0/4 is the first of four."""
    assert config_from([URL], {"shard": "0/4", "shard_base": 0}).input.shard == Shard(1, 4)
    assert _error({"shard": "4/4", "shard_base": 0}).startswith("--shard: must be I/N with 0")


def test_metrics_labels_default_to_the_file_and_shard() -> None:
    """--metrics m/nightly.prom --shard 3/8: run=nightly, shard=2 with base 0 (3 with 1); a
    label given replaces its default."""
    options = {"metrics": "m/nightly.prom", "shard": "3/8", "metrics_labels": ["site=eu"]}
    assert config_from([URL], options).run.metrics_labels == (
        ("run", "nightly"), ("shard", "3"), ("site", "eu"),
    )  # fmt: skip
    zero = config_from([URL], {**options, "shard_base": 0, "metrics_labels": ["run=x"]})
    assert zero.run.metrics_labels == (("run", "x"), ("shard", "3"))
    assert config_from([URL], {"metrics_labels": ["a=1"]}).run.metrics_labels == (("a", "1"),)


@pytest.mark.parametrize(
    ("sources", "options", "message"),
    [(("a.jsonl",), {"state": "s.db"}, "--merge: reads records: --state has nothing to act on"),
     (("a.jsonl",), {"format": "body"}, "--merge: reads records, which hold no bodies"),
     ((), {}, "--merge: name the shards' records files"),
     (("-",), {}, "--merge: reads each records file twice, so not stdin"),
     ((URL,), {}, "--merge: reads records files: 'https://a.test/' is not one")],
)  # fmt: skip
def test_merge_refuses_what_it_cannot_do(sources, options, message) -> None:
    assert _error({"merge": True, **options}, sources).startswith(message)


def test_merge_with_changed_only_needs_no_state() -> None:
    """--merge --changed-only: the records files say what changed."""
    config = config_from(["a.jsonl", "b.jsonl"], {"merge": True, "changed_only": True})
    assert config.run.merge and config.run.changed_only


def test_options_with_nothing_to_act_on_are_said_once() -> None:
    config = config_from(
        [URL],
        {"separator": r"\n", "follow": False, "max_redirects": 3, "overwrite": True,
         "metrics_labels": ["a=1"]},
    )  # fmt: skip
    assert config.warnings == (
        "--separator: ignored: only -f body writes bodies",
        "--max-redirects: ignored with --no-follow",
        "--overwrite: ignored without --save",
        "--metrics-label: ignored without --metrics",
    )


def test_a_proxy_without_a_scheme_is_http() -> None:
    """--proxy host:3128 works as curl -x does, and a proxy's password never shows in a repr."""
    config = config_from(["u"], {"proxy": "alice:s3cret@proxy.local:3128"})
    assert config.request.proxy == "http://alice:s3cret@proxy.local:3128"
    assert "s3cret" not in repr(config.request)


@pytest.mark.parametrize(
    ("options", "transport"),
    [
        ({"http2": True, "transport": "curl"}, "curl"),
        ({"http2": True}, "curl"),
        ({"http2": True, "transport": "httpcore"}, "httpcore"),
        ({"http3": True, "transport": "curl"}, "curl"),
        ({"http3": True, "http2": True}, "curl"),  # auto: only libcurl speaks HTTP/3
    ],
)
def test_http_versions_go_to_a_transport_that_speaks_them(options, transport) -> None:
    """HTTP/2 runs on httpcore or curl, HTTP/3 on curl; auto picks one that can."""
    from fetchcli.settings.build import config_from

    assert config_from(["urls.txt"], options).pool.transport == transport


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"http2": True, "transport": "aiohttp"}, "--http2: needs --transport httpcore or curl"),
        ({"http3": True, "transport": "aiohttp"}, "--http3: needs --transport curl"),
        ({"http3": True, "transport": "httpcore"}, "--http3: needs --transport curl"),
    ],
)
def test_http_versions_a_transport_lacks_are_refused(options, message) -> None:
    """Asking a transport for an HTTP version it does not speak fails before any fetch."""
    from fetchcli.settings.build import OptionError, config_from

    with pytest.raises(OptionError, match=message):
        config_from(["urls.txt"], options)

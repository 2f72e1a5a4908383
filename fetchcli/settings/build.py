"""Options named as the long flags (snake_case) -> one frozen Config.

The command line hands its parameters here by name, and so can a Python caller: `--max-size
10MB` is `max_size="10MB"` (or `max_size=10_000_000`), `-H` is `headers=["X-A: 1"]`. Text is
parsed as on the command line, every value is checked, and a bad one raises OptionError naming
the flag. Defaults live in the Config dataclasses; an option left out (or None) keeps them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from fetchcli.judging.fields import CHECK_FIELDS
from fetchcli.judging.spec import JudgeSpec
from fetchcli.settings.model import (
    DEFAULT_TIMEOUT,
    Config,
    Format,
    InputConfig,
    OutputConfig,
    PoolConfig,
    RequestConfig,
    RetryConfig,
    RunConfig,
    Shard,
    TimeoutConfig,
    Transport,
    choose_transport,
)
from fetchcli.settings.parse import parse_shard
from fetchcli.settings.spec import BY_NAME

SECTIONS = (
    InputConfig,
    PoolConfig,
    TimeoutConfig,
    RetryConfig,
    RequestConfig,
    OutputConfig,
    RunConfig,
    JudgeSpec,
)
TIMEOUTS = ("connect_timeout", "read_timeout", "write_timeout", "pool_timeout")


class OptionError(ValueError):
    """A bad option value; the message names the flag."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{flag(option)}: {problem}")
        self.option = option
        self.problem = problem


def flag(option: str) -> str:
    """The flag messages name an option by: `max_size` -> `--max-size` (`headers` is -H)."""
    spec = BY_NAME.get(option)
    return spec.flag if spec else "--" + option.replace("_", "-")


def known_options() -> frozenset[str]:
    return frozenset(BY_NAME)


def default(option: str) -> Any:
    """The default of an option: its Config field's (the timeout's for `timeout`).

    >>> default("concurrency"), default("max_size"), default("timeout")
    (20, 100000000, 10.0)
    """
    if option == "timeout":
        return DEFAULT_TIMEOUT
    for section in SECTIONS:
        for field in dataclasses.fields(section):
            if field.name == option:
                return field.default
    raise KeyError(option)


def shown_default(option: str) -> str:
    """The default as --help shows it: `100MB`, `https`, `0.5`; "" for none shown.

    >>> shown_default("max_size"), shown_default("default_scheme"), shown_default("retries")
    ('100MB', 'https', '0')
    """
    shown = BY_NAME[option].shown
    if isinstance(shown, str) or not shown:
        return shown or ""
    value = default(option)
    if option == "max_size" and value % 1000**2 == 0:
        return f"{value // 1000**2}MB"
    return str(value)


def config_from(sources: Sequence[str], options: Mapping[str, Any]) -> Config:
    """The run's Config; raises OptionError (a ValueError) for an unknown or bad option.

    >>> config = config_from(["urls.txt"], {"concurrency": 50, "rate": "600/m", "timeout": 0})
    >>> config.pool.concurrency, config.pool.rate, config.timeouts.read_timeout
    (50, 10.0, None)
    """
    unknown = sorted(set(options) - known_options())
    if unknown:
        raise OptionError(unknown[0], "no such option")
    shard_base = options.get("shard_base")
    options = _with_shard_base(options)
    values = {name: _value(name, value) for name, value in options.items() if value is not None}
    _apply_timeout(values)
    sections = {section: _section(section, values) for section in SECTIONS}
    pool, request = sections[PoolConfig], sections[RequestConfig]
    transport = choose_transport(pool.transport)
    _check_versions(pool, transport)
    method = request.method if "method" in values else "POST" if request.data else "GET"
    run = sections[RunConfig]
    if run.changed_only and run.state is None and not run.merge:
        raise OptionError("changed_only", "needs --state FILE (what changed is known from it)")
    if run.merge:
        _check_merge(sources, values)
    bodies = sections[OutputConfig].format is Format.BODY
    _check_saving(sources, sections[OutputConfig])
    if run.changed_only and bodies:
        raise OptionError("changed_only", "filters records; -f body writes bodies as they come")
    if sections[JudgeSpec].where is not None and bodies:
        raise OptionError("where", "filters records; -f body writes bodies as they come")
    if run.metrics is not None:
        shard = sections[InputConfig].shard
        labels = _metrics_labels(run, shard, 1 if shard_base is None else shard_base)
        run = dataclasses.replace(run, metrics_labels=labels)
    return Config(
        sources=tuple(sources),
        input=sections[InputConfig],
        pool=dataclasses.replace(pool, transport=transport),
        timeouts=sections[TimeoutConfig],
        retry=sections[RetryConfig],
        request=dataclasses.replace(request, method=method),
        output=_output(sections[OutputConfig], sections[JudgeSpec]),
        run=run,
        judge=sections[JudgeSpec],
        warnings=_ignored(values),
    )


def _output(output: OutputConfig, judge: JudgeSpec) -> OutputConfig:
    """What the checks need of the output: --cert-days reads the certificate (--tls-info),
    and a check on `timing` or `tls` needs them measured."""
    names: set[str] = set()
    if judge.check:
        # Only a run with --check reads expressions: --help and a plain fetch import no parser.
        from fetchcli.judging.expressions import compile_expression

        for text in judge.check:
            names |= compile_expression(text, CHECK_FIELDS).names
    tls_info = output.tls_info or judge.cert_days is not None or "tls" in names
    timings = output.timings or "timing" in names
    if (tls_info, timings) == (output.tls_info, output.timings):
        return output
    return dataclasses.replace(output, tls_info=tls_info, timings=timings)


def _check_saving(sources: Sequence[str], output: OutputConfig) -> None:
    """What only --save can act on, and --checksum's one URL."""
    if output.save is None:
        for option in ("content_disposition", "checksum", "checksums", "resume"):
            if getattr(output, option):
                raise OptionError(option, "needs --save DIR (it is about the saved files)")
        return
    if output.checksum is not None and not (len(sources) == 1 and "://" in sources[0]):
        raise OptionError(
            "checksum", "is for one URL given as an argument; for a list, --checksums FILE "
            "or a `checksum` in each request row"
        )  # fmt: skip


def _check_versions(pool: PoolConfig, transport: Transport) -> None:
    """HTTP/2 on the transports that speak it, HTTP/3 on the one (libcurl's QUIC)."""
    if pool.http2 and transport is Transport.AIOHTTP:
        raise OptionError(
            "http2", "needs --transport httpcore or curl (or auto): aiohttp speaks HTTP/1.1"
        )
    if pool.http3 and transport is not Transport.CURL:
        raise OptionError("http3", f"needs --transport curl (or auto): {transport} has no HTTP/3")


def _ignored(values: Mapping[str, Any]) -> tuple[str, ...]:
    """What an option given with nothing to act on does (nothing), said rather than silent.

    >>> _ignored({"follow": False, "max_redirects": 3, "overwrite": True})
    ('--max-redirects: ignored with --no-follow', '--overwrite: ignored without --save')
    """
    ignored = []
    if values.get("separator") and values.get("format") is not Format.BODY:
        ignored.append("--separator: ignored: only -f body writes bodies")
    if values.get("follow") is False and "max_redirects" in values:
        ignored.append("--max-redirects: ignored with --no-follow")
    if values.get("overwrite") and values.get("save") is None:
        ignored.append("--overwrite: ignored without --save")
    if values.get("metrics_labels") and values.get("metrics") is None:
        ignored.append("--metrics-label: ignored without --metrics")
    return tuple(ignored)


def _metrics_labels(run: RunConfig, shard: Shard | None, base: int) -> tuple[tuple[str, str], ...]:
    """The labels on every series of --metrics. By default `run`, the file's name, and with
    --shard `shard`, its index as written, so that no two runs' files collide in one
    node_exporter; then --metrics-label's, which replace a default of the same name. An empty
    value leaves its label out.

    >>> from pathlib import Path
    >>> run = RunConfig(metrics=Path("m/nightly.prom"), metrics_labels=(("site", "eu"),))
    >>> _metrics_labels(run, Shard(index=1, count=8), base=0)
    (('run', 'nightly'), ('shard', '0'), ('site', 'eu'))
    >>> _metrics_labels(RunConfig(metrics=Path("a.prom"), metrics_labels=(("run", ""),)), None, 1)
    ()
    """
    assert run.metrics is not None
    labels = {"run": run.metrics.name.removesuffix(".prom")}
    if shard is not None:
        labels["shard"] = str(shard.index - 1 + base)
    labels.update(run.metrics_labels)
    return tuple((name, value) for name, value in labels.items() if value)


# What --merge cannot do: there is nothing to fetch, and no body to write or save.
_NOT_WITH_MERGE = ("save", "state", "dry_run", "shard", "skip_done", "dedupe")


_MERGE_EXAMPLE = "fetchcli --merge records/shard-*.jsonl"


def _check_merge(sources: Sequence[str], values: Mapping[str, Any]) -> None:
    for option in _NOT_WITH_MERGE:
        if values.get(option):
            raise OptionError("merge", f"reads records: {flag(option)} has nothing to act on")
    if values.get("format") is Format.BODY:
        raise OptionError("merge", "reads records, which hold no bodies: not with -f body")
    if not sources:
        raise OptionError("merge", f"name the shards' records files ({_MERGE_EXAMPLE})")
    for source in sources:
        if source == "-":
            raise OptionError(
                "merge",
                f"reads each records file twice, so not stdin ('-'): "
                f"name the files ({_MERGE_EXAMPLE})",
            )
        if "://" in source:
            raise OptionError("merge", f"reads records files: {source!r} is not one")


def _with_shard_base(options: Mapping[str, Any]) -> dict[str, Any]:
    """`shard_base` says how `shard` counts; it is no Config field of its own."""
    result = dict(options)
    base = result.pop("shard_base", None)
    if base is None:
        return result
    if base not in (0, 1):
        raise OptionError("shard_base", f"must be 0 or 1, got {base!r}")
    if isinstance(result.get("shard"), str):
        try:
            result["shard"] = parse_shard(result["shard"], base=base)
        except ValueError as exc:
            raise OptionError("shard", str(exc)) from None
    return result


def _section(section: type[Any], values: Mapping[str, Any]) -> Any:
    names = {field.name for field in dataclasses.fields(section)}
    return section(**{name: value for name, value in values.items() if name in names})


def _apply_timeout(values: dict[str, Any]) -> None:
    """`timeout` is the default of the four; 0 means none (None), for each and --max-time."""
    default = values.pop("timeout", DEFAULT_TIMEOUT)
    for name in TIMEOUTS:
        values[name] = values.get(name, default) or None
    if "max_time" in values:
        values["max_time"] = values["max_time"] or None


def _value(name: str, value: Any) -> Any:
    """One option's value, parsed from text if need be, and checked."""
    option = BY_NAME[name]
    try:
        value = option.convert(value) if option.convert else value
        if option.check:
            option.check(value)
    except ValueError as exc:
        raise OptionError(name, str(exc)) from None
    return value

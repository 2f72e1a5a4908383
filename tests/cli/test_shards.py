"""Past one machine: shards started at once as an engine starts them, each writing its records,
brought back together by --merge into what one run over the whole list writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import FETCHCLI, TIMEOUT, records_of, run_fetchcli, subprocess_env, timeless
from tests.server import TestServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHARDS = 4


def _comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [timeless(record) for record in records]


def _summary(stderr: bytes) -> str:
    """The summary line without the run's time, rate and latencies (the shards had their own)."""
    line = next(line for line in stderr.decode().splitlines() if " ok, " in line)
    counts, _, rest = line.partition(" · ")
    return f"{counts} · {rest.split(' ')[0]} {rest.split(' ')[1]}"


def _url_list(server: TestServer, path: Path, name: str) -> Path:
    lines = [f"{server.url}/pattern/{100 + n}?seed={name}{n}" for n in range(120)]
    lines[7] = f"{server.url}/status/404"
    lines[20] = "not a url"
    lines[33] = f"{server.url}/status/500"
    lines[50] = f"{server.url}/redirect/1"
    lines.insert(60, "# a comment")
    path.write_text("\n".join(lines) + "\n")
    return path


def _start_shards(listing: Path, out: Path, *extra: str) -> list[subprocess.Popen[bytes]]:
    """Every shard at once, numbered from 0 as an Indexed Job numbers its pods."""
    return [
        subprocess.Popen(
            [
                *FETCHCLI,
                str(listing),
                "--shard",
                f"{index}/{SHARDS}",
                "--shard-base",
                "0",
                "--records",
                str(out / f"shard-{index}.jsonl"),
                "-q",
                "--no-progress",
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=subprocess_env(),
        )  # fmt: skip
        for index in range(SHARDS)
    ]


def _sharded(server: TestServer, tmp_path: Path) -> tuple[Path, list[str]]:
    """A list, and its shards' records files once every shard has run (all at once)."""
    listing = _url_list(server, tmp_path / "urls.txt", tmp_path.name)
    out = tmp_path / "records"
    out.mkdir()
    _wait(_start_shards(listing, out))
    return listing, sorted(str(path) for path in out.iterdir())


def _wait(shards: list[subprocess.Popen[bytes]]) -> None:
    for shard in shards:
        _, err = shard.communicate(timeout=TIMEOUT)
        assert b"Traceback" not in err


def test_shards_at_once_fetch_every_url_once_and_merge_into_one_run(
    server: TestServer, tmp_path: Path
) -> None:
    listing, shard_files = _sharded(server, tmp_path)
    fetched = {path: n for path, n in server.stats.paths.items() if "/pattern/" in path}
    assert len(fetched) == 116 and set(fetched.values()) == {1}  # every URL once, no more

    one = run_fetchcli(str(listing), "--no-progress")
    merged = run_fetchcli("--merge", *shard_files, "--no-progress")
    assert merged.returncode == one.returncode == 1
    assert _comparable(records_of(merged.stdout)) == _comparable(records_of(one.stdout))
    assert _summary(merged.stderr) == _summary(one.stderr)
    assert " in " not in merged.stderr.decode()  # no run time: the shards had their own


def test_merge_writes_failed_out_metrics_and_table_as_one_run(
    server: TestServer, tmp_path: Path
) -> None:
    listing, shard_files = _sharded(server, tmp_path)
    files = shard_files
    merged_failed, one_failed = tmp_path / "merged-failed.txt", tmp_path / "one-failed.txt"
    merged_metrics, one_metrics = tmp_path / "merged.prom", tmp_path / "one.prom"
    run_fetchcli(
        "--merge", *files, "--failed-out", str(merged_failed), "--metrics", str(merged_metrics)
    )
    run_fetchcli(str(listing), "--failed-out", str(one_failed), "--metrics", str(one_metrics))
    assert merged_failed.read_text() == one_failed.read_text()
    assert _counts(merged_metrics) == _counts(one_metrics)
    assert {"run": "merged"} in _label_sets(merged_metrics)  # the merge's own series
    table = run_fetchcli("--merge", *files, "-f", "table", "--no-progress")
    assert table.stdout.decode().count("\n") > 120
    assert b"not a url" in table.stdout


def _counts(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The run's counts, without the file's `run` label, which names the file (when and how
    long are each run's own)."""
    values = {}
    for family in text_string_to_metric_families(path.read_text()):
        if family.type != "gauge" or family.name.endswith(("_seconds", "_interrupted")):
            continue
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "run"))
            values[sample.name, labels] = sample.value
    return values


def _label_sets(path: Path) -> list[dict[str, str]]:
    families = text_string_to_metric_families(path.read_text())
    return [sample.labels for family in families for sample in family.samples]


def test_a_shard_run_again_fetches_only_its_rest(server: TestServer, tmp_path: Path) -> None:
    """A shard whose first run failed part-way (503s) is run again on its own records file
    (--skip-done): it fetches only what failed, and the merge keeps the later records."""
    name = tmp_path.name
    urls = [f"{server.url}/flaky/{name}-{n}?fail=1" if n % 3 == 0 else f"{server.url}/ok?{n}"
            for n in range(30)]  # fmt: skip
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    records = tmp_path / "shard-0.jsonl"
    args = (str(listing), "--records", str(records), "--skip-done", str(records), "-q")
    assert run_fetchcli(*args).returncode == 1  # ten 503s
    assert run_fetchcli(*args).returncode == 0
    assert records.read_text().count("\n") == 40  # 30, then the 10 that failed
    assert server.stats.requests == 40  # the 20 that succeeded were not fetched again
    merged = run_fetchcli("--merge", str(records), "--no-progress")
    assert merged.returncode == 0
    assert [(r["url"], r["status"]) for r in records_of(merged.stdout)] == [(u, 200) for u in urls]


def test_merge_keeps_the_order_of_several_sources(server: TestServer, tmp_path: Path) -> None:
    first = _url_list(server, tmp_path / "b-first.txt", f"{tmp_path.name}b")
    second = _url_list(server, tmp_path / "a-second.txt", f"{tmp_path.name}a")
    out = tmp_path / "records"
    out.mkdir()
    shards = [
        subprocess.Popen(
            [
                *FETCHCLI,
                str(first),
                str(second),
                "--shard",
                f"{i}/3",
                "-q",
                "--records",
                str(out / f"{i}.jsonl"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=subprocess_env(),
        )  # fmt: skip
        for i in (1, 2, 3)
    ]
    _wait(shards)
    one = run_fetchcli(str(first), str(second))
    merged = run_fetchcli("--merge", *sorted(str(p) for p in out.iterdir()))
    assert _comparable(records_of(merged.stdout)) == _comparable(records_of(one.stdout))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-f", "body"], "no bodies"),
        (["--state", "s.db"], "--state"),
        (["--shard", "1/2"], "--shard"),
        (["http://example.com/"], "not one"),
        (["-"], "not stdin"),
    ],
)
def test_merge_refuses_what_it_cannot_do(tmp_path: Path, args: list[str], words: str) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text("")
    done = run_fetchcli("--merge", str(records), *args, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr.decode() and done.stderr.decode().count("\n") == 1


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed")
def test_the_gnu_parallel_one_liner(server: TestServer, tmp_path: Path) -> None:
    """README's one-liner, with this machine standing in for the ssh hosts (-S :)."""
    listing = _url_list(server, tmp_path / "urls.txt", tmp_path.name)
    env = {
        **subprocess_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    line = (
        f"parallel -S : --jobs {SHARDS} 'fetchcli {listing} --shard {{}}/{SHARDS} -q "
        "--records shard-{}.jsonl --skip-done shard-{}.jsonl > /dev/null' ::: "
        + " ".join(str(i) for i in range(1, SHARDS + 1))
    )
    subprocess.run(line, shell=True, cwd=tmp_path, env=env, timeout=TIMEOUT * 2, check=False)
    files = sorted(str(p) for p in tmp_path.glob("shard-*.jsonl"))
    assert len(files) == SHARDS
    merged = run_fetchcli("--merge", *files)
    one = run_fetchcli(str(listing))
    assert _comparable(records_of(merged.stdout)) == _comparable(records_of(one.stdout))


@pytest.mark.parametrize("first", [0, 1])
def test_the_slurm_array_script(server: TestServer, tmp_path: Path, first: int) -> None:
    """deploy/slurm/fetch.sbatch as Slurm runs it: one task per shard, all at once, numbered
    from 0 or from 1; together they fetch the list once, and the merge is one run. A task run
    again on its own (`sbatch --array=N`: Slurm then says the array is that one task) is still
    its shard, and fetches nothing it has already."""
    script = ROOT / "deploy" / "slurm" / "fetch.sbatch"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    listing = _url_list(server, tmp_path / "urls.txt", tmp_path.name)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    def tasks_env(task: int) -> dict[str, str]:
        return {
            **subprocess_env(),
            "PATH": path,
            "LIST": str(listing),
            "OUT": "records",
            "SLURM_ARRAY_TASK_ID": str(task),
            "SHARDS": str(SHARDS),
            "SHARD_BASE": str(first),
        }

    tasks = [
        subprocess.Popen(
            ["bash", str(script)], cwd=tmp_path, env=tasks_env(task), stderr=subprocess.PIPE
        )  # fmt: skip
        for task in range(first, first + SHARDS)
    ]
    _wait(tasks)
    assert set(server.stats.paths.values()) == {1}
    files = sorted(str(p) for p in (tmp_path / "records").iterdir())
    assert len(files) == SHARDS
    merged = run_fetchcli("--merge", *files)
    one = run_fetchcli(str(listing))
    assert _comparable(records_of(merged.stdout)) == _comparable(records_of(one.stdout))
    server.reset()
    again = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env={**tasks_env(first + 2), "SLURM_ARRAY_TASK_MIN": str(first + 2),
             "SLURM_ARRAY_TASK_COUNT": "1"},
        capture_output=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert again.returncode in (0, 1), again.stderr  # 1: its shard holds a failure again
    assert not [path for path in server.stats.paths if "/pattern/" in path]  # all done before


def test_merge_changed_only_of_nightly_state_shards(server: TestServer, tmp_path: Path) -> None:
    """The nightly recipe: shards with --state append to their records; the merge with
    --changed-only shows what changed on the latest night (and the failures)."""
    name = tmp_path.name
    urls = [f"{server.url}/versioned/{name}-{n}?etag=1" for n in range(12)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")

    def night() -> None:
        for i in (1, 2):
            state, out = tmp_path / f"{i}.db", tmp_path / f"shard-{i}.jsonl"
            done = run_fetchcli(str(listing), "--shard", f"{i}/2", "-q", "--state", str(state),
                        "--records", str(out))  # fmt: skip
            assert done.returncode == 0

    night()
    server.versions[f"{name}-4"] = "version 2"
    night()
    files = [str(tmp_path / "shard-1.jsonl"), str(tmp_path / "shard-2.jsonl")]
    merged = run_fetchcli("--merge", *files, "--changed-only", "-q")
    assert [r["url"] for r in records_of(merged.stdout)] == [urls[4]]
    everything = records_of(run_fetchcli("--merge", *files, "-q").stdout)
    assert [r["changed"] for r in everything] == [n == 4 for n in range(12)]


def test_merge_changed_only_needs_records_with_changed(server: TestServer, tmp_path) -> None:
    records = tmp_path / "r.jsonl"
    assert run_fetchcli(f"{server.url}/ok", "-q", "--records", str(records)).returncode == 0
    done = run_fetchcli("--merge", str(records), "--changed-only")
    assert done.returncode == 2 and done.stdout == b""
    assert "no 'changed'" in done.stderr.decode() and done.stderr.decode().count("\n") == 1


def test_bare_merge_says_what_it_needs() -> None:
    """`fetchcli --merge` with no files: exit 2, naming what to give it."""
    done = run_fetchcli("--merge")
    assert done.returncode == 2
    assert "name the shards' records files" in done.stderr.decode()


def test_merge_of_a_url_list_is_a_usage_error(tmp_path: Path) -> None:
    """A URL list given to --merge: exit 2 (it holds no records), not a warning and exit 0."""
    urls = tmp_path / "urls.txt"
    urls.write_text("https://example.test/\n")
    done = run_fetchcli("--merge", str(urls))
    assert done.returncode == 2
    assert "holds no records" in done.stderr.decode()


def test_merge_of_a_fifo_is_refused(tmp_path: Path) -> None:
    """--merge reads every file twice: a FIFO is refused before anything is read."""
    fifo = tmp_path / "records"
    os.mkfifo(fifo)
    done = run_fetchcli("--merge", str(fifo))
    assert done.returncode == 2
    assert "not a plain file" in done.stderr.decode()

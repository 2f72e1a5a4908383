"""deploy/: the Kubernetes manifests pass the Kubernetes schemas (offline, strict), their pods
run as the image's user, and the shell recipes parse; the nightly pod's shell wrapper runs for
real (its exit status, SIGTERM, the push of its metrics, the records it cleans up). (The shards
run for real in tests/cli/test_shards.py and test_dask.py.)"""

from __future__ import annotations

import copy
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from fetchcli.input.filters import shard_of

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
KUBERNETES = "1.30.0"  # completionMode: Indexed and the completion-index annotation: 1.28+


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_pass_the_kubernetes_schemas(path: Path) -> None:
    for document in _documents(path):
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_validation_can_fail() -> None:
    job = _documents(DEPLOY / "kubernetes" / "indexed-job.yaml")[0]
    broken = copy.deepcopy(job)
    broken["spec"]["completions"] = "eight"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    broken = copy.deepcopy(job)
    broken["spec"]["template"]["spec"]["containers"][0]["argz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def _pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    assert spec["completionMode"] == "Indexed"
    return spec


def _script(container: dict[str, Any]) -> str | None:
    """The shell script a container runs (`sh -c SCRIPT`), if it runs one."""
    if container.get("command") == ["/bin/sh", "-c"]:
        [script] = container["args"]
        return str(script)
    return None


def _fetchcli_args(container: dict[str, Any]) -> list[str]:
    """fetchcli's arguments, from `args` or from the fetch in the container's script, with the
    script's $VAR written as Kubernetes' $(VAR)."""
    script = _script(container)
    if script is None:
        return list(container["args"])
    command = script.replace("\\\n", " ")
    line = next(line for line in command.splitlines() if line.strip().startswith("fetchcli /"))
    words = shlex.split(line)
    words = words[1 : words.index(">")]
    return [re.sub(r"\$([A-Z_]+)", r"$(\1)", word) for word in words]


@pytest.mark.parametrize("name", ["indexed-job.yaml", "cronjob.yaml"])
def test_each_pod_takes_its_own_shard(name: str) -> None:
    """The pod's index goes to --shard as it is (--shard-base 0), out of as many shards as the
    Job has completions, and names the pod's own files."""
    document = _documents(DEPLOY / "kubernetes" / name)[0]
    spec = _pod_spec(document)
    container = spec["template"]["spec"]["containers"][0]
    args = _fetchcli_args(container)
    assert args[args.index("--shard") + 1] == f"$(SHARD)/{spec['completions']}"
    assert args[args.index("--shard-base") + 1] == "0"
    files = [arg for arg in args if arg.startswith("/data/") and "$(SHARD)" in arg]
    assert files and all("shard-$(SHARD)" in arg for arg in files)
    env = {
        item["name"]: item["valueFrom"]["fieldRef"]["fieldPath"]
        for item in container["env"]
        if "valueFrom" in item
    }
    assert env["SHARD"].endswith("job-completion-index']")
    assert spec["template"]["spec"]["restartPolicy"] == "Never" and spec["backoffLimitPerIndex"]
    assert container["resources"]["requests"]["memory"] == "128Mi"


def test_the_nightly_shards_rerun_only_within_their_night() -> None:
    """A nightly pod started again skips what it did that night (its own records file, named
    after the night's Job), so --state is not asked twice in one night."""
    document = _documents(DEPLOY / "kubernetes" / "cronjob.yaml")[0]
    args = _fetchcli_args(_pod_spec(document)["template"]["spec"]["containers"][0])
    records = args[args.index("--records") + 1]
    assert args[args.index("--skip-done") + 1] == records
    assert "$(NIGHT)" in records and "--state" in args


def test_the_slurm_script_parses() -> None:
    script = DEPLOY / "slurm" / "fetch.sbatch"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


@pytest.mark.parametrize("name", ["indexed-job.yaml", "cronjob.yaml"])
def test_the_pods_run_as_the_images_user_and_own_the_volume(name: str) -> None:
    """The Dockerfile's user (65534) is the pod's, as a non-root user, with fsGroup so that
    the volume is writable by it; no privilege to gain (Pod Security "restricted")."""
    user = re.search(r"^USER (\d+):(\d+)$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert user is not None
    uid, gid = int(user[1]), int(user[2])
    pod = _pod_spec(_documents(DEPLOY / "kubernetes" / name)[0])["template"]["spec"]
    context = pod["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (uid, gid, gid)
    assert context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]["securityContext"]
    assert container == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


@pytest.mark.parametrize("name", ["indexed-job.yaml", "cronjob.yaml"])
def test_backoff_limit_per_index_says_what_it_needs(name: str) -> None:
    """backoffLimitPerIndex is dropped by a Kubernetes before 1.29: the manifest says so."""
    text = (DEPLOY / "kubernetes" / name).read_text()
    assert "backoffLimitPerIndex" in text and "Kubernetes 1.29 or later" in text
    assert (
        "backoffLimitPerIndex: 2 # each shard is tried again twice at most (Kubernetes >= 1.29)"
        in text
    )


# --- the nightly pod's shell wrapper, run for real ----------------------------------------

NIGHTLY = _pod_spec(_documents(DEPLOY / "kubernetes" / "cronjob.yaml")[0])["template"]["spec"]
TIMEOUT = 30


def test_the_nightly_pod_keeps_metrics_off_the_shared_volume() -> None:
    """The metrics go to the pod's own scratch volume and a Pushgateway, not to the shared
    volume no node_exporter reads; the script has no $(...) for Kubernetes to expand."""
    container = NIGHTLY["containers"][0]
    script = _script(container)
    assert script is not None and "$(" not in script
    metrics = _fetchcli_args(container)[_fetchcli_args(container).index("--metrics") + 1]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert metrics.startswith(mounts["scratch"] + "/")
    volumes = {volume["name"]: volume for volume in NIGHTLY["volumes"]}
    assert "emptyDir" in volumes["scratch"]
    assert f"-d @{metrics}" in script and "/metrics/job/fetchcli-nightly/shard/$SHARD" in script


class _Gateway(ThreadingHTTPServer):
    """A stand-in for both ends: the sites fetched (/ok, /missing, /hang) and the Pushgateway
    (PUT /metrics/...), on 127.0.0.1."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pushes: list[tuple[str, str, str]] = []  # path, Content-Type, body
        self.hanging = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Gateway

    def do_GET(self) -> None:
        if self.path.startswith("/hang"):
            self.server.hanging.set()
            self.rfile.read(1)  # until the client gives up
            return
        self._answer(200 if self.path.startswith("/ok") else 404)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.pushes.append((self.path, self.headers["Content-Type"], body))
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    server = _Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _in_shard(urls: Iterator[str], shard: int, count: int) -> str:
    """The first of `urls` in shard `shard` (from 0) of `count`."""
    return next(url for url in urls if shard_of(url, count) == shard + 1)


def _wrapper(tmp_path: Path, shard: int, gateway: _Gateway | None, lines: list[str]):
    """The nightly container's script, started as the pod would (its /data and /scratch made
    temporary directories here), with fetchcli from this interpreter's environment."""
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    data.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    (data / "urls.txt").write_text("".join(f"{line}\n" for line in lines))
    script = _script(NIGHTLY["containers"][0])
    assert script is not None
    script = script.replace("/data/", f"{data}/").replace("/scratch/", f"{scratch}/")
    script = script.replace("/data ", f"{data} ")
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SHARD"], env["NIGHT"], env["KEEP_DAYS"] = str(shard), "fetchcli-nightly-29001", "7"
    env["PUSHGATEWAY"] = gateway.url if gateway is not None else ""
    return subprocess.Popen(
        ["/bin/sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _urls(base: str, path: str) -> Iterator[str]:
    return (f"{base}/{path}?{n}" for n in range(10_000))


def _grouping(path: str) -> dict[str, str]:
    """/metrics/job/J/k/v... -> {"job": J, "k": v}"""
    parts = path.removeprefix("/metrics/").split("/")
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _pushed_labels(body: str) -> list[dict[str, str]]:
    families = text_string_to_metric_families(body)
    return [sample.labels for family in families for sample in family.samples]


@pytest.mark.parametrize(("failing", "status"), [(False, 0), (True, 1)])
def test_the_nightly_wrapper_exits_with_fetchclis_status_and_pushes(
    tmp_path: Path, gateway: _Gateway, failing: bool, status: int
) -> None:
    """The pod's status is fetchcli's (1 past --max-failures, so the shard is tried again);
    its metrics reach the Pushgateway under job and shard, which agree with the file's own
    labels (the Pushgateway would overwrite them otherwise)."""
    lines = [_in_shard(_urls(gateway.url, "ok"), 3, 8)]
    if failing:
        lines.append(_in_shard(_urls(gateway.url, "missing"), 3, 8))
    proc = _wrapper(tmp_path, 3, gateway, lines)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == status, err
    assert out == b""
    records = (tmp_path / "data" / "records" / "fetchcli-nightly-29001-shard-3.jsonl").read_text()
    assert len(records.splitlines()) == len(lines)
    [(path, content_type, body)] = gateway.pushes
    assert content_type == "text/plain; version=0.0.4"
    grouping = _grouping(path)
    assert grouping == {"job": "fetchcli-nightly", "shard": "3"}
    labels = _pushed_labels(body)
    assert {"result": "ok", "run": "fetchcli-nightly", "shard": "3"} in labels
    for sample in labels:
        assert "job" not in sample
        assert all(sample[k] == v for k, v in grouping.items() if k in sample), sample


def test_the_nightly_wrapper_passes_sigterm_on(tmp_path: Path, gateway: _Gateway) -> None:
    """A pod stopped mid-night (SIGTERM to the shell, PID 1 in the pod): fetchcli gets it,
    keeps what finished, the interrupted run's metrics are pushed, and the pod exits 143."""
    ok, hang = (
        _in_shard(_urls(gateway.url, "ok"), 0, 8),
        _in_shard(_urls(gateway.url, "hang"), 0, 8),
    )
    proc = _wrapper(tmp_path, 0, gateway, [ok, hang])
    assert gateway.hanging.wait(TIMEOUT)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 143, err
    records = (tmp_path / "data" / "records" / "fetchcli-nightly-29001-shard-0.jsonl").read_text()
    assert ok in records and hang not in records
    [(_, _, body)] = gateway.pushes
    assert 'fetchcli_run_interrupted{run="fetchcli-nightly",shard="0"} 1.0' in body


def test_the_nightly_wrapper_without_a_pushgateway(tmp_path: Path, gateway: _Gateway) -> None:
    """PUSHGATEWAY empty: no push, fetchcli's status all the same."""
    proc = _wrapper(tmp_path, 1, None, [_in_shard(_urls(gateway.url, "ok"), 1, 8)])
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert gateway.pushes == []
    assert (tmp_path / "scratch" / "fetchcli-nightly.prom").exists()


@pytest.mark.parametrize("shard", [0, 1])
def test_old_nights_records_are_deleted_by_shard_0(tmp_path: Path, shard: int) -> None:
    """Each night, shard 0 deletes the nightly records files more than KEEP_DAYS days old;
    newer nights, other files and the other shards' pods touch nothing."""
    records = tmp_path / "data" / "records"
    records.mkdir(parents=True)
    day = 24 * 3600
    ages = {
        "fetchcli-nightly-28990-shard-5.jsonl": 10 * day,
        "fetchcli-nightly-28999-shard-5.jsonl": 2 * day,
        "shard-5.jsonl": 30 * day,  # indexed-job.yaml's, not a night's
    }
    now = time.time()
    for name, age in ages.items():
        (records / name).write_text("{}\n")
        os.utime(records / name, (now - age, now - age))
    proc = _wrapper(tmp_path, shard, None, [])
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    left = {path.name for path in records.iterdir()} - {
        f"fetchcli-nightly-29001-shard-{shard}.jsonl"
    }
    expected = set(ages) - ({"fetchcli-nightly-28990-shard-5.jsonl"} if shard == 0 else set())
    assert left == expected

"""deploy/: the Kubernetes manifests pass the Kubernetes schemas (offline, strict), and the
shell recipes parse. (They run for real in tests/cli/test_shards.py and test_dask.py.)"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

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


@pytest.mark.parametrize("name", ["indexed-job.yaml", "cronjob.yaml"])
def test_each_pod_takes_its_own_shard(name: str) -> None:
    """The pod's index goes to --shard as it is (--shard-base 0), out of as many shards as the
    Job has completions, and names the pod's own files."""
    document = _documents(DEPLOY / "kubernetes" / name)[0]
    spec = _pod_spec(document)
    container = spec["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--shard") + 1] == f"$(SHARD)/{spec['completions']}"
    assert args[args.index("--shard-base") + 1] == "0"
    files = [arg for arg in args if arg.startswith("/data/") and "$(SHARD)" in arg]
    assert files and all("shard-$(SHARD)" in arg for arg in files)
    env = {item["name"]: item["valueFrom"]["fieldRef"]["fieldPath"] for item in container["env"]}
    assert env["SHARD"].endswith("job-completion-index']")
    assert spec["template"]["spec"]["restartPolicy"] == "Never" and spec["backoffLimitPerIndex"]
    assert container["resources"]["requests"]["memory"] == "128Mi"


def test_the_nightly_shards_rerun_only_within_their_night() -> None:
    """A nightly pod started again skips what it did that night (its own records file, named
    after the night's Job), so --state is not asked twice in one night."""
    document = _documents(DEPLOY / "kubernetes" / "cronjob.yaml")[0]
    args = _pod_spec(document)["template"]["spec"]["containers"][0]["args"]
    records = args[args.index("--records") + 1]
    assert args[args.index("--skip-done") + 1] == records
    assert "$(NIGHT)" in records and "--state" in args


def test_the_slurm_script_parses() -> None:
    script = DEPLOY / "slurm" / "fetch.sbatch"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0

"""The image, built from the Dockerfile with buildah on a local Debian base (no registry here), and run.

The operator runs from the image as its non-root user (65532) on a read-only root filesystem with a tmpfs /tmp
(as the chart deploys it), against the local control plane and AWS endpoint (chroot shares the host's network),
until a check it made is Ready."""

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/credcheck:test"
STORE = ["buildah", "--storage-driver", "vfs"]
MAX_MB = 200
NS = "kubermatic"

pytestmark = pytest.mark.image


def run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900, **kwargs)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("buildah") is None or os.geteuid() != 0:
        pytest.fail("building the image needs root and buildah: `bash hack/install-tools.sh` installs it")
    run("make", "-C", str(REPO), "image", "BASE=local", f"IMAGE={IMAGE}")
    return IMAGE


def test_make_image_names_the_local_base_when_the_base_cannot_be_pulled() -> None:
    """No registry answers for this name: `make image` says so and names the one command that builds locally."""
    done = subprocess.run(["make", "-C", str(REPO), "image", "BASE=registry.invalid/none/python:3.11-slim",
                           "IMAGE=localhost/credcheck:never"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode != 0
    assert "could not pull the base image registry.invalid/none/python:3.11-slim" in done.stderr
    assert "make image BASE=local" in done.stderr


@contextlib.contextmanager
def read_only_root(image: str) -> Iterator[Path]:
    """The image's files mounted read-only, with a tmpfs /tmp, /proc and /dev: a pod with readOnlyRootFilesystem."""
    container = run(*STORE, "from", image).stdout.strip()
    root = Path(tempfile.mkdtemp(prefix="credcheck-ro-"))
    mounted: list[Path] = []
    try:
        files = run(*STORE, "mount", container).stdout.strip()
        run("mount", "--bind", files, str(root))
        mounted.append(root)
        run("mount", "-o", "remount,bind,ro", str(root))
        for target, argv in ((root / "tmp", ["mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs"]),
                             (root / "proc", ["mount", "-t", "proc", "proc"]),
                             (root / "dev", ["mount", "--bind", "/dev"])):
            run(*argv, str(target))
            mounted.append(target)
        yield root
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], check=False)
        subprocess.run([*STORE, "umount", container], check=False, capture_output=True)
        subprocess.run([*STORE, "rm", container], check=False, capture_output=True)
        root.rmdir()


def as_app(root: Path, *argv: str, env: dict[str, str] | None = None) -> list[str]:
    # a clean environment, as the container runtime gives: only what the image's config sets
    prefix = ["chroot", "--userspec=65532:65532", str(root), "/usr/bin/env", "-i", "HOME=/tmp", "USER=credcheck",
              "PATH=/opt/credcheck/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"]
    return [*prefix, *(f"{k}={v}" for k, v in (env or {}).items()), *argv]


def test_image_is_small_and_has_no_build_tools(image: str) -> None:
    size = run(*STORE, "images", "--format", "{{.Size}}", image).stdout.strip()
    value, unit = size.split()
    megabytes = float(value) * {"kB": 0.001, "MB": 1, "GB": 1000}[unit]
    print(f"image {image}: {size}")
    assert megabytes <= MAX_MB, f"the image is {size}"
    with read_only_root(image) as root:
        found = [p for p in ("usr/bin/gcc", "usr/bin/cc", "usr/bin/make", "opt/credcheck/bin/pip",
                             "usr/local/bin/pip", "root/.cache/pip") if (root / p).exists()]
        assert found == [], f"build tools or pip caches in the image: {found}"


def test_help_runs_on_a_read_only_root_as_the_app_user(image: str) -> None:
    with read_only_root(image) as root:
        done = subprocess.run(as_app(root, "credcheck", "--help"), capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert "usage: credcheck" in done.stdout
        denied = subprocess.run(as_app(root, "/usr/bin/touch", "/opt/credcheck/x"), capture_output=True, text=True,
                                check=False)
        assert denied.returncode != 0, "the root filesystem really is read-only"


def test_the_operator_runs_from_the_image_until_a_check_is_ready(
        image: str, control_plane: ControlPlane, local_aws: LocalAWS) -> None:
    install_base(control_plane, NS)
    kubeconfig = control_plane.service_account_kubeconfig(NS, "credcheck")
    policy = json.loads((REPO / "tests" / "data" / "kkp-documented-policy-2.22.json").read_text()
                        .replace("YOUR_ACCOUNT_ID", "123456789012"))
    policy["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"})
    _, keys = local_aws.create_user(policies=[policy])
    name = "credential-aws-from-image"
    control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
        "stringData": {"accessKeyId": keys.access_key_id, "secretAccessKey": keys.secret_access_key}}))
    with read_only_root(image) as root:
        shutil.copy(kubeconfig, root / "tmp" / "kubeconfig")
        os.chown(root / "tmp" / "kubeconfig", 65532, 65532)
        env = {"KUBECONFIG": "/tmp/kubeconfig", "AWS_ENDPOINT_URL": local_aws.url, "CREDCHECK_DEV_ENDPOINTS": "true",
               "CREDCHECK_HEALTH_PORT": str(free_port()), "CREDCHECK_METRICS_PORT": str(free_port()),
               "CREDCHECK_LOG_FORMAT": "json", "CREDCHECK_REGION": "eu-central-1"}
        log = root / "tmp" / "operator.log"
        with log.open("wb") as out:
            operator = subprocess.Popen(as_app(root, "credcheck", "run", env=env), stdout=out,
                                        stderr=subprocess.STDOUT)
        try:
            deadline, ready = time.monotonic() + 120, None
            while time.monotonic() < deadline and operator.poll() is None:
                got = control_plane.run_kubectl("get", "awscc", name, "-n", NS, "-o",
                                                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                                                check=False)
                ready = got.stdout.strip()
                if ready == "True":
                    break
                time.sleep(1)
            assert ready == "True", f"Ready={ready!r}; operator log: {log.read_text()[-2000:]}"
            uids = (Path("/proc") / str(operator.pid) / "status").read_text()
            assert "\nUid:\t65532\t65532" in uids, "the operator runs as the image's non-root user"
        finally:
            operator.terminate()
            operator.wait(timeout=30)

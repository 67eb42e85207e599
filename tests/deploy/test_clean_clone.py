"""A clone with nothing beside it runs the main job: `make demo` needs no folder outside the repository.

The repository's HEAD is cloned into a temporary folder that has no `shared/` beside it; `make demo` runs there on
the machine's warm caches (control-plane binaries, Prometheus, pip's wheels) and must end with the verdict table,
an alert delivered through KKP's scrape job and route with its message, and the Cluster's Event. Then
`make dev-env-down` stops what it started.
"""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.cluster


def _env() -> dict[str, str]:
    """The machine's environment without anything that points at this checkout or the team's shared folder."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CREDCHECK_KKP_CRDS", "CREDCHECK_TESTGROUND", "VIRTUAL_ENV", "AWS_", "KUBECONFIG"))}


@pytest.mark.timeout(900)
def test_make_demo_in_a_clone_with_no_shared_folder_beside_it_ends_with_the_verdicts() -> None:
    with tempfile.TemporaryDirectory(prefix="credcheck-clone-") as parent:
        clone = Path(parent) / "credcheck"
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
        assert not (Path(parent) / "shared").exists()
        try:
            demo = subprocess.run(["make", "-C", str(clone), "demo"], capture_output=True, text=True,
                                  timeout=840, env=_env(), check=False)
            assert demo.returncode == 0, f"make demo failed:\n{demo.stdout[-3000:]}\n{demo.stderr[-3000:]}"
            table = demo.stdout.split("$ kubectl get awscredentialchecks -A\n", 1)[1].split("\n\n", 1)[0]
            lines = table.splitlines()
            assert lines[0].split()[:2] == ["NAMESPACE", "NAME"], table
            names = {line.split()[1] for line in lines[1:]}
            assert {"credential-aws-prod1", "credential-aws-docs9", "credential-aws-old3"} <= names, table
            assert "KKP's CRDs written by credcheck" in demo.stderr + demo.stdout
            # issue 30: an alert through KKP's pods job and route, with its message; the Cluster's Event
            assert "could not be simulated" not in demo.stdout, "the demo's control-plane roles exist"
            assert "    message: KKP Cluster " in demo.stdout, demo.stdout[-3000:]
            assert "Warning   CredentialMissingPermissions   Cluster   dev7" in demo.stdout, demo.stdout[-3000:]
        finally:
            subprocess.run(["make", "-C", str(clone), "dev-env-down"], capture_output=True, timeout=120, env=_env(),
                           check=False)

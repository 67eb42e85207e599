"""$KUBECONFIG lists merged as kubectl merges them (kubernetes.io, "Organizing Cluster Access Using kubeconfig Files",
merging rules: empty entries ignored, the first file to set a value or map key wins, relative paths resolved against
the file that holds them; client-go's loader skips files that don't exist)."""

import os
from pathlib import Path

import kopf
import pytest
import yaml

from credcheck.kube.kubeconfig import KubeconfigError, kubeconfig_paths, login_from_kubeconfig, merge_kubeconfigs


@pytest.fixture(autouse=True)
def _no_inherited_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)


def login_from_kubeconfig_list(paths: list[Path]) -> kopf.ConnectionInfo:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", os.pathsep.join(str(p) for p in paths))
        return login_from_kubeconfig(interactive_tty=False)


def _write(path: Path, config: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), "utf-8")
    return path


def test_the_list_skips_empty_entries_and_repeats_and_defaults_to_home_config(tmp_path: Path) -> None:
    env = {"KUBECONFIG": os.pathsep.join(["", "/a", "/b", "", "/a"])}
    assert kubeconfig_paths(env) == [Path("/a"), Path("/b")]
    assert kubeconfig_paths({}, home=tmp_path) == [tmp_path / ".kube" / "config"]


def test_a_context_in_one_file_reaches_a_cluster_and_user_in_others(tmp_path: Path) -> None:
    first = _write(tmp_path / "one" / "config", {
        "current-context": "seed", "contexts": [{"name": "seed", "context": {"cluster": "c", "user": "u"}}]})
    second = _write(tmp_path / "two" / "config", {
        "clusters": [{"name": "c", "cluster": {"server": "https://seed:6443", "certificate-authority": "ca.crt"}}]})
    third = _write(tmp_path / "three" / "config", {
        "users": [{"name": "u", "user": {"client-certificate": "me.crt", "client-key": "me.key"}}]})
    info = login_from_kubeconfig_list([first, tmp_path / "missing", second, third])
    assert info.server == "https://seed:6443"
    assert info.ca_path == str(tmp_path / "two" / "ca.crt")  # relative to the file that names it
    assert info.certificate_path == str(tmp_path / "three" / "me.crt")
    assert info.private_key_path == str(tmp_path / "three" / "me.key")


def test_the_first_file_to_set_a_value_or_name_wins(tmp_path: Path) -> None:
    first = _write(tmp_path / "a", {
        "current-context": "one",
        "contexts": [{"name": "one", "context": {"cluster": "c"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://first"}}]})
    second = _write(tmp_path / "b", {
        "current-context": "two",
        "contexts": [{"name": "two", "context": {"cluster": "c"}}, {"name": "one", "context": {"cluster": "x"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://second"}}]})
    merged = merge_kubeconfigs([first, second])
    assert merged.current_context == "one"
    assert login_from_kubeconfig_list([first, second]).server == "https://first"
    assert login_from_kubeconfig_list([second, first]).server == "https://second"


def test_no_file_of_the_list_exists_names_them(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        merge_kubeconfigs([tmp_path / "nope"])


def test_a_context_naming_an_absent_cluster_says_which(tmp_path: Path) -> None:
    only = _write(tmp_path / "a", {"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "gone"}}]})
    with pytest.raises(KubeconfigError, match="no cluster named 'gone'"):
        login_from_kubeconfig_list([only])

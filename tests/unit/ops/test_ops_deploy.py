"""The deployment files, validated offline by what real tools can check without a Docker engine
or a cluster: the Compose specification's JSON schema, Kubernetes' own OpenAPI schemas
(kubernetes-validate, strict), promtool for the compose stack's Prometheus; and the project's
rules: images well-formed and pinned, every ECO_* variable a real setting, probes, limits,
disruption budgets, static membership, no secret values in the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
# Names fixed by the project's interface contract for processes and settings built beside the
# worker (the portal, Kafka security, key and trust locations): not all in Settings yet.
FIXED_NAMES = {
    "ECO_DEV_PKI", "ECO_OFFICE_KEYS_DIR", "ECO_TRUST_DIR", "ECO_CUSTOMS_FILE",
    "ECO_OFFICES_FILE", "ECO_PORTAL_HOST", "ECO_PORTAL_PORT", "ECO_PORTAL_TLS_CERT",
    "ECO_PORTAL_TLS_KEY", "ECO_OIDC_ISSUER", "ECO_OIDC_AUDIENCE", "ECO_OIDC_CLIENT_ID",
    "ECO_OIDC_CLIENT_SECRET", "ECO_OIDC_TENANT_CLAIM", "ECO_OIDC_ROLES_CLAIM",
    "ECO_KAFKA_SECURITY_PROTOCOL", "ECO_KAFKA_SASL_MECHANISM", "ECO_KAFKA_SASL_USERNAME",
    "ECO_KAFKA_SASL_PASSWORD", "ECO_KAFKA_SSL_CAFILE",
    # read outside Settings: the preview's portal link, the local broker's controller port
    "ECO_PORTAL_URL", "ECO_KAFKA_CONTROLLER_PORT",
}
# name[:tag][@digest], registry and path components lower case (the Docker reference grammar)
IMAGE = re.compile(r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
                   r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
                   r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
                   r"(?:@sha256:[0-9a-f]{64})?$")


def settings_names() -> set[str]:
    """The ECO_* variables Settings reads, from its documented table."""
    doc = Settings.__doc__ or ""
    return {f"ECO_{name}" for name in re.findall(r"^\s{4}[a-z_]+\s+([A-Z_]+)\s", doc, re.M)}


def allowed_names() -> set[str]:
    return settings_names() | FIXED_NAMES


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def k8s_objects(include_crds: bool = False) -> list[dict[str, Any]]:
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and (include_crds or not doc["apiVersion"].startswith("keda.sh/")):
                objects.append(doc)
    return objects


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    found: list[dict[str, Any]] = spec.get("containers", [])
    return found


def test_every_yaml_file_under_deploy_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yml")) + sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_stack_has_every_part_and_a_three_broker_profile() -> None:
    services = compose()["services"]
    assert {"kafka", "worker", "portal", "receiver", "sandbox-customs", "prometheus",
            "alertmanager", "grafana"} <= set(services)
    brokers = [s for s in services.values() if s["image"].startswith("apache/kafka:")]
    assert len(brokers) == 3
    assert [n for n, s in services.items() if "cluster" in s.get("profiles", [])] == [
        "kafka-2", "kafka-3"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert all("ZOOKEEPER" not in key for s in brokers for key in s["environment"])
    volumes = services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    prometheus = services["prometheus"]["volumes"]
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in prometheus


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus)")
def test_promtool_accepts_the_compose_stacks_prometheus_configuration() -> None:
    checked = subprocess.run(["promtool", "check", "config", "--syntax-only",
                              str(DEPLOY / "prometheus" / "prometheus.yml")],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def images() -> list[str]:
    found = [s["image"] for s in compose()["services"].values()]
    found += [c["image"] for obj in k8s_objects() for c in containers(obj)]
    found += re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    return found


@pytest.mark.parametrize("image", sorted(set(images())))
def test_every_image_is_well_formed_and_pinned(image: str) -> None:
    match = IMAGE.fullmatch(image)
    assert match, f"{image} is not a valid image reference"
    assert "@sha256:" in image or match.group("tag"), f"{image} has no tag"
    assert match.group("tag") not in ("latest", "stable", "main"), f"{image} is not pinned"


def test_the_projects_image_carries_the_packages_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    ours = {i for i in images() if i.startswith("eco-pipeline:")}
    assert ours == {f"eco-pipeline:{version}"}


def env_names() -> dict[str, str]:
    """Every ECO_* variable the deployment files set, with where."""
    names: dict[str, str] = {}
    for service, spec in compose()["services"].items():
        for name in spec.get("environment", {}):
            names[name] = f"compose {service}"
    for obj in k8s_objects():
        where = f"k8s {obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] == "ConfigMap":
            names.update({n: where for n in obj.get("data", {})})
        for container in containers(obj):
            names.update({e["name"]: where for e in container.get("env", [])})
        for key, value in obj.get("metadata", {}).get("annotations", {}).items():
            if key == "eco-pipeline/contents":
                names.update({n: where for n in re.findall(r"\bECO_[A-Z_]+", value)})
    text = COMPOSE.read_text() + "".join(p.read_text() for p in K8S.glob("*.yaml"))
    names.update({n: "text" for n in re.findall(r"\$\{(ECO_[A-Z_]+)", text)})
    return {n: w for n, w in names.items() if n.startswith("ECO_")}


def test_every_eco_variable_the_deployment_sets_is_a_real_setting() -> None:
    allowed = allowed_names()
    unknown = {n: w for n, w in env_names().items() if n not in allowed}
    assert not unknown, f"not settings of eco-pipeline: {unknown}"
    assert len(env_names()) >= 20


def test_every_setting_is_listed_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [n for n in settings_names() if f"`{n}`" not in readme]
    assert not missing, missing


@pytest.mark.parametrize("obj", k8s_objects(), ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_kubernetes_manifests_validate_against_the_kubernetes_schemas(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in k8s_objects() if o["kind"] == kind]


def test_workers_use_static_membership_probes_limits_and_a_disruption_budget() -> None:
    [workers] = by_kind("StatefulSet")
    [container] = containers(workers)
    env = {e["name"]: e for e in container["env"]}
    assert env["ECO_WORKER_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    budgets = {b["metadata"]["name"]: b for b in by_kind("PodDisruptionBudget")}
    assert budgets["eco-worker"]["spec"]["selector"]["matchLabels"] == (
        workers["spec"]["selector"]["matchLabels"])
    config = by_kind("ConfigMap")
    partitions = int(next(c for c in config if c["metadata"]["name"] == "eco-settings")
                     ["data"]["ECO_KAFKA_PARTITIONS"])
    assert workers["spec"]["replicas"] <= partitions


def test_every_container_has_limits_and_runs_unprivileged() -> None:
    for obj in k8s_objects():
        for container in containers(obj):
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_keys_and_credentials_come_from_secrets_and_none_is_in_the_repository() -> None:
    secrets = by_kind("Secret")
    assert {s["metadata"]["name"] for s in secrets} >= {
        "eco-office-keys", "eco-kafka-credentials", "eco-customs-tls"}
    assert all(not s.get("data") and not s.get("stringData") for s in secrets)
    [workers] = by_kind("StatefulSet")
    volumes = {v["name"]: v for v in workers["spec"]["template"]["spec"]["volumes"]}
    assert volumes["office-keys"]["secret"]["secretName"] == "eco-office-keys"
    refs = {r["secretRef"]["name"] for r in containers(workers)[0]["envFrom"] if "secretRef" in r}
    assert refs == {"eco-kafka-credentials"}


def test_the_keda_note_scales_the_worker_statefulset_within_the_partitions() -> None:
    scaled = [o for o in k8s_objects(include_crds=True) if o["kind"] == "ScaledObject"]
    [scaled_object] = scaled
    assert scaled_object["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
    [trigger] = scaled_object["spec"]["triggers"]
    assert trigger["type"] == "kafka" and trigger["metadata"]["allowIdleConsumers"] == "false"


def callback_target(url: str) -> tuple[str, int]:
    match = re.fullmatch(r"https?://([a-z0-9.-]+):(\d+)/?", url)
    assert match, f"ECO_CALLBACK_URL {url!r} names no host and port"
    return match.group(1), int(match.group(2))


def test_compose_sends_customs_callbacks_to_the_receiver_on_its_port() -> None:
    services = compose()["services"]
    receiver = services["receiver"]["environment"]
    assert receiver["ECO_RECEIVER_HOST"] == "0.0.0.0"
    port = int(receiver["ECO_RECEIVER_PORT"])
    for name in ("worker", "receiver", "sandbox-customs", "portal"):
        host, target = callback_target(services[name]["environment"]["ECO_CALLBACK_URL"])
        assert (host, target) == ("receiver", port), name
    assert f"127.0.0.1:{port}/readyz" in " ".join(services["receiver"]["healthcheck"]["test"])


def prometheus_targets() -> dict[str, list[str]]:
    """Job name to its host:port targets (static, or DNS names with their port)."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        found = [t for c in job.get("static_configs", []) for t in c["targets"]]
        found += [f"{n}:{c['port']}" for c in job.get("dns_sd_configs", []) for n in c["names"]]
        jobs[job["job_name"]] = found
    return jobs


def test_the_compose_prometheus_scrapes_every_process_on_its_port() -> None:
    services = compose()["services"]
    jobs = prometheus_targets()
    assert jobs["eco-worker"] == [
        f"worker:{services['worker']['environment']['ECO_WORKER_WEB_PORT']}"]
    assert jobs["eco-receiver"] == [
        f"receiver:{services['receiver']['environment']['ECO_RECEIVER_PORT']}"]
    assert jobs["eco-portal"] == [f"portal:{services['portal']['environment']['ECO_PORTAL_PORT']}"]


def named(kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in by_kind(kind) if o["metadata"]["name"] == name]
    return found


def test_kubernetes_sends_customs_callbacks_to_the_receiver_service() -> None:
    settings = named("ConfigMap", "eco-settings")["data"]
    host, port = callback_target(settings["ECO_CALLBACK_URL"])
    service = named("Service", "eco-receiver")
    assert host.split(".")[:2] == ["eco-receiver", service["metadata"]["namespace"]]
    [service_port] = [p for p in service["spec"]["ports"] if p["port"] == port]
    receiver = named("Deployment", "eco-receiver")
    assert service["spec"]["selector"] == receiver["spec"]["selector"]["matchLabels"]
    [container] = containers(receiver)
    [container_port] = [p for p in container["ports"]
                        if p["name"] == service_port["targetPort"]]
    assert container_port["containerPort"] == int(settings["ECO_RECEIVER_PORT"])
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ECO_RECEIVER_HOST"] == "0.0.0.0"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize(("kind", "name"), [("StatefulSet", "eco-worker"),
                                            ("Deployment", "eco-receiver"),
                                            ("Deployment", "eco-portal")])
def test_every_process_on_kubernetes_is_scraped_on_its_port(kind: str, name: str) -> None:
    obj = named(kind, name)
    annotations = obj["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    [container] = containers(obj)
    assert int(annotations["prometheus.io/port"]) in {p["containerPort"]
                                                      for p in container["ports"]}

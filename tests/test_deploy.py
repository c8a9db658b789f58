"""The deployment recipes (Dockerfile, compose.yaml, deploy/kubernetes, deploy/prometheus), checked offline.

The Dockerfile is read (the files it copies, its user, its health check, that its entry point and every command the
recipes run are commands the bot accepts) and linted by hadolint. The image is built for real by `.ci/build-image`
on a Debian 12 base made with debootstrap (these machines reach no image registry), unpacked, and its commands run
in a chroot: no container engine runs here (`podman run` needs cgroups these machines do not give), so the image's
entry point, user, working directory and environment are applied by hand, as an engine would. compose.yaml is
validated against the Compose Specification's schema (check-jsonschema ships it), the Kubernetes manifests against
Kubernetes' own schemas (kubernetes-validate ships them), and the alert rules by `promtool check rules`.

The tools from the OS (debootstrap, buildah, promtool) are installed by `.ci/run`: without them these tests skip,
saying how to install them, except under CI=true, where they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes_validate import validate

from bot.cli import build_parser
from slack_emulator import SlackEmulator
from tests.support.postgres import scratch_database
from tests.support.serving import serving
from tests.support.slack_app import SIGNING_SECRET

REPO = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.30.0"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
    return instructions


def runs_as_the_bot(args: list[str]) -> Any:
    """The subcommand `initiative-bot ARGS` would run (argparse exits on anything the bot would refuse)."""
    return build_parser().parse_args(args).func


def test_the_image_copies_files_that_exist_and_runs_serve_as_an_unprivileged_user_with_a_health_check() -> None:
    steps = dockerfile()
    stages = [args for keyword, args in steps if keyword == "FROM"]
    final = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"):]
    kept = {line.removeprefix("!").rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.startswith("!")}

    assert ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm") in steps
    assert stages == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]  # multi-stage; the last has no build tools
    copied = [source for keyword, args in steps if keyword == "COPY" and not args.startswith("--from")
              for source in args.split()[:-1]]
    assert copied and all((REPO / source).exists() and source in kept for source in copied)
    [user] = [args for keyword, args in final if keyword == "USER"]
    assert user.isdigit() and int(user) > 0
    [health] = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert "127.0.0.1:3000/healthz" in health
    [entrypoint] = [json.loads(args) for keyword, args in final if keyword == "ENTRYPOINT"]
    [command] = [json.loads(args) for keyword, args in final if keyword == "CMD"]
    # Exec form, so the bot is PID 1 and receives SIGTERM itself (a shell would not pass it on).
    assert entrypoint == ["initiative-bot"] and command[0] == "serve"
    assert runs_as_the_bot(command).__name__ == "run_serve"
    version = subprocess.run([tool(entrypoint[0]), "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("initiative-bot ")


def test_the_dockerfile_passes_hadolint() -> None:
    linted = subprocess.run([tool("hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_compose_follows_the_compose_specification() -> None:
    checked = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                              str(REPO / "compose.yaml")], capture_output=True, text=True, timeout=60)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def tool(name: str) -> str:
    """A command-line tool the test extras install beside this interpreter."""
    return str(Path(sys.executable).with_name(name))


def test_compose_runs_postgresql_the_migrations_two_serve_replicas_and_one_scheduler() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "migrate", "serve", "scheduler"}
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["serve"]["deploy"]["replicas"] == 2 and "--no-scheduler" in services["serve"]["command"]
    assert services["scheduler"].get("deploy", {}).get("replicas", 1) == 1
    for name in ("serve", "scheduler"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert [runs_as_the_bot(services[name]["command"]).__name__ for name in ("migrate", "serve", "scheduler")] == [
        "run_upgrade", "run_serve", "run_scheduler"]


def kubernetes_objects() -> list[dict[str, Any]]:
    return [document for path in sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


def test_the_kubernetes_manifests_are_valid_and_probe_readiness_and_liveness_apart() -> None:
    objects = kubernetes_objects()
    for manifest in objects:
        validate(manifest, KUBERNETES_VERSION, strict=True)  # raises on any schema error or unknown field
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    serve = by_name[("Deployment", "initiative-bot-serve")]["spec"]
    scheduler = by_name[("Deployment", "initiative-bot-scheduler")]["spec"]
    migrate = by_name[("Job", "initiative-bot-migrate")]["spec"]
    audit = by_name[("CronJob", "initiative-bot-audit-verify")]["spec"]["jobTemplate"]["spec"]
    service = by_name[("Service", "initiative-bot")]["spec"]
    secret = by_name[("Secret", "initiative-bot")]
    [serve_container] = serve["template"]["spec"]["containers"]

    assert serve["replicas"] == 2 and scheduler["replicas"] == 1
    assert serve_container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert serve_container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert service["selector"] == serve["template"]["metadata"]["labels"]
    containers = [c for spec in (serve, scheduler, migrate, audit) for c in spec["template"]["spec"]["containers"]]
    assert [runs_as_the_bot(c["args"]).__name__ for c in containers] == [
        "run_serve", "run_scheduler", "run_upgrade", "run_verify"]
    assert "--no-scheduler" in serve_container["args"]
    # Every secret a container reads is in the Secret's template.
    wanted = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
              for c in containers for e in c.get("env", []) if "valueFrom" in e}
    assert wanted <= {(secret["metadata"]["name"], key) for key in secret["stringData"]}
    # Longer than serve's --graceful-timeout (30 s), so in-flight work finishes after SIGTERM.
    assert serve["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_the_alert_rules_cover_what_the_operations_guide_promises_and_pass_promtool() -> None:
    rules = REPO / "deploy" / "prometheus" / "alerts.yaml"
    alerts = {rule["alert"] for group in yaml.safe_load(rules.read_text())["groups"] for rule in group["rules"]}
    guide = (REPO / "docs" / "operations.md").read_text()

    assert alerts == {"InitiativeBotOutboxStuck", "InitiativeBotDigestFailed", "InitiativeBotSlackRateLimited",
                      "InitiativeBotAuditVerifyFailing", "InitiativeBotAuditVerifyNotRun", "InitiativeBotNotReady"}
    assert all(f"`{alert}`" in guide for alert in alerts)
    promtool = system_tool("promtool", "sudo apt-get install -y --no-install-recommends prometheus")
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def missing(how: str) -> None:
    """Skip, saying what the test needs; under CI=true (`.ci/run` provides it) fail: a CI run never skips these."""
    if os.environ.get("CI") == "true":
        pytest.fail(how)
    pytest.skip(how)


def system_tool(name: str, install: str) -> str:
    """A tool from the OS that a test needs."""
    found = shutil.which(name)
    if found is None:
        missing(f"needs {name}: {install}")
    return str(found)


IMAGE = "localhost/initiative-bot:ci"


@contextmanager
def built_image(store: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The image built from the Dockerfile (`.ci/build-image`, into a buildah storage of its own under `store`),
    unpacked: its root file system, mounted, and its configuration (user, entry point, command, environment...)."""
    install = "sudo apt-get install -y --no-install-recommends debootstrap buildah (and run the tests as root)"
    for name in ("debootstrap", "buildah", "chroot"):
        system_tool(name, install)
    if os.geteuid() != 0:  # debootstrap, buildah's storage and chroot all want root
        missing("needs root: debootstrap, buildah and chroot run as root")
    buildah = ["buildah", "--root", str(store / "storage"), "--runroot", str(store / "run")]
    try:
        # The build is the suite's one long CPU-bound step: at the lowest priority it leaves the cores to the
        # deadline-bound tests that other xdist workers run meanwhile.
        built = subprocess.run(["nice", "-n", "19", str(REPO / ".ci" / "build-image"), str(store), IMAGE],
                               capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
        container = subprocess.run([*buildah, "from", "--quiet", "--pull=never", IMAGE],
                                   capture_output=True, text=True, check=True).stdout.strip()
        rootfs = subprocess.run([*buildah, "mount", container], capture_output=True, text=True, check=True)
        inspected = subprocess.run([*buildah, "inspect", "--type", "image", IMAGE],
                                   capture_output=True, text=True, check=True)
        yield Path(rootfs.stdout.strip()), json.loads(inspected.stdout)["Docker"]["config"]
    finally:
        subprocess.run([*buildah, "rm", "--all"], capture_output=True)
        subprocess.run([*buildah, "rmi", "--all", "--force"], capture_output=True)
        # The overlay driver binds its directory onto itself, and may leave that behind: unmount it, deepest first.
        inside = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(store) + "/")]
        for mountpoint in sorted(inside, reverse=True):
            subprocess.run(["umount", mountpoint], capture_output=True)
        shutil.rmtree(store, ignore_errors=True)


def in_image(rootfs: Path, config: dict[str, Any]) -> list[str]:
    """The prefix that runs a command in the unpacked image as an engine would: chrooted, as the image's user, from
    its working directory. `exec`, so the command keeps the process and gets SIGTERM itself."""
    user = config["User"]
    [group] = [line.split(":")[3] for line in (rootfs / "etc" / "passwd").read_text().splitlines()
               if line.split(":")[2] == user]
    return ["chroot", f"--userspec={user}:{group}", str(rootfs),
            "/bin/sh", "-c", f'cd {config["WorkingDir"]} && exec "$@"', "sh"]


@pytest.mark.slow
def test_the_image_built_on_debian_12_migrates_serves_ready_and_stops_cleanly_as_its_unprivileged_user(
    slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    with built_image(tmp_path / "buildah") as (rootfs, config), scratch_database("ib_image") as database_url:
        bot = [*in_image(rootfs, config), *config["Entrypoint"]]
        environment = dict(variable.split("=", 1) for variable in config["Env"]) | {
            "DATABASE_URL": database_url,
            "SLACK_API_URL": slack_emulator.base_url,
            "SLACK_BOT_TOKEN": slack_emulator.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            # A directory inside the image (serving() would otherwise name one of this machine's).
            "PROMETHEUS_MULTIPROC_DIR": "/tmp/initiative-bot-metrics",
        }
        version = subprocess.run([*bot, "--version"], env=environment, capture_output=True, text=True, timeout=60)
        upgraded = subprocess.run([*bot, "db", "upgrade"], env=environment, capture_output=True, text=True,
                                  timeout=120)
        with serving(environment, tmp_path, "--workers", "2", cli=bot) as served:
            ready = httpx.get(served.url + "/readyz", timeout=5)
            uid = next(line.split()[1] for line in Path(f"/proc/{served.process.pid}/status").read_text().splitlines()
                       if line.startswith("Uid:"))
            # The image's own HEALTHCHECK command, pointed at the port this test serves on.
            [kind, *health] = config["Healthcheck"]["Test"]
            port = served.url.rsplit(":", 1)[1]
            health = [part.replace(":3000/", f":{port}/") for part in health]
            healthy = subprocess.run([*in_image(rootfs, config), *health], env=environment,
                                     capture_output=True, text=True, timeout=30)
            exit_code = served.terminate()
            log = served.log

    assert version.returncode == 0 and version.stdout.startswith("initiative-bot "), version.stderr
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "was empty" in upgraded.stdout + upgraded.stderr
    assert ready.status_code == 200, ready.text  # the database reachable and at the head migration
    assert uid == config["User"] != "0"
    assert kind == "CMD" and healthy.returncode == 0, healthy.stderr
    assert exit_code == 0 and "stopped cleanly" in log and "Traceback" not in log, log

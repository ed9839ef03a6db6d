"""docker-py (Debian 12's python3-docker 5.0.3) against jswarm's Engine API.

Run by DockerPyTest: python3 docker_py_check.py SOCKET IMAGE IMAGE2. Every check prints
"ok: ..." and the script exits 0 only if all of them held; the first that fails raises.
"""
import base64
import sys
import time

import docker
from docker.types import ConfigReference, EndpointSpec, SecretReference, ServiceMode, UpdateConfig

socket, image, image2 = sys.argv[1], sys.argv[2], sys.argv[3]
client = docker.DockerClient(base_url="unix://" + socket, version="auto", timeout=60)


def ok(what):
    print("ok: " + what, flush=True)


def wait(what, cond, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def running(service):
    return [t for t in service.tasks({"desired-state": "running"}) if t["Status"]["State"] == "running"]


assert docker.__version__ == "5.0.3", docker.__version__
assert client.version()["ApiVersion"] == "1.41"
ok("version negotiated: 1.41")

info = client.info()
assert info["Swarm"]["LocalNodeState"] == "active" and info["Swarm"]["ControlAvailable"], info["Swarm"]
ok("info: swarm active, control available")

nodes = client.nodes.list()
assert len(nodes) >= 1
node = nodes[0]
spec = dict(node.attrs["Spec"])
spec["Labels"] = {"zone": "a"}
assert node.update(spec)
node.reload()
assert node.attrs["Spec"]["Labels"] == {"zone": "a"}, node.attrs["Spec"]
assert client.nodes.list(filters={"node.label": "zone=a"})[0].id == node.id
ok("nodes: list, update (labels), filter by node.label")

net = client.networks.create("pynet", driver="overlay", attachable=True, labels={"k": "v"})
assert client.networks.get("pynet").attrs["Driver"] == "overlay"
assert [n.name for n in client.networks.list(names=["pynet"])] == ["pynet"]
ok("networks: create, get, list by name")

secret = client.secrets.create(name="pysecret", data=b"hush")
assert client.secrets.get(secret.id).name == "pysecret"
assert "Data" not in client.secrets.get(secret.id).attrs["Spec"]
config = client.configs.create(name="pyconfig", data=b"setting=1\n")
assert base64.b64decode(client.configs.get(config.id).attrs["Spec"]["Data"]) == b"setting=1\n"
assert [s.name for s in client.secrets.list(filters={"name": "pysecret"})] == ["pysecret"]
assert [c.name for c in client.configs.list(filters={"name": "pyconfig"})] == ["pyconfig"]
ok("secrets and configs: create, get (no data for a secret), list")

service = client.services.create(
    image, command=["sh", "-c", "echo py-started on $(hostname); exec sleep 1000"], name="pyweb", mode=ServiceMode("replicated", replicas=2), networks=["pynet"],
    secrets=[SecretReference(secret.id, "pysecret")],
    configs=[ConfigReference(config.id, "pyconfig", filename="/etc/py.conf")],
    endpoint_spec=EndpointSpec(ports={8082: 80}), labels={"app": "py"},
    update_config=UpdateConfig(parallelism=1, delay=1000000000))
wait("2 tasks running", lambda: len(running(service)) == 2)
assert [s.name for s in client.services.list(filters={"label": "app=py"})] == ["pyweb"]
ok("services: create (network, secret, config, port, labels), list by label")

service.scale(3)
wait("3 tasks running", lambda: len(running(service)) == 3)
ok("services: scale")

service.reload()
service.update(image=image2)
service.reload()
wait("all on the new image", lambda: len(running(service)) == 3 and all(
    t["Spec"]["ContainerSpec"]["Image"].startswith(image2) for t in running(service)))
ok("services: update (image)")

logs = b"".join(service.logs(stdout=True, stderr=True))
assert logs.count(b"py-started on ") >= 3, logs
ok("services: logs")

service.remove()
wait("service gone", lambda: not client.services.list(filters={"name": "pyweb"}))

ok("services: remove")

for attempt in range(120):
    try:
        net.remove()
        break
    except docker.errors.APIError:
        time.sleep(0.5)
secret.remove()
config.remove()
assert not client.networks.list(names=["pynet"]) and not client.secrets.list(filters={"name": "pysecret"})
ok("networks, secrets, configs: remove")

try:
    client.services.get("no-such-service")
    raise AssertionError("a missing service was found")
except docker.errors.NotFound:
    ok("a missing service: NotFound (404)")

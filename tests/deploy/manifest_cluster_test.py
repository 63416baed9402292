#!/usr/bin/env python3
"""Runs the three-node cluster that deploy/ describes, as local strata-server processes.

    manifest_cluster_test.py compose      # deploy/compose.yaml (+ deploy/Dockerfile's ENV, ENTRYPOINT)
    manifest_cluster_test.py kubernetes   # deploy/kubernetes/statefulset.yaml, pods strata-0..2

Environment: STRATA_SERVER (the binary, from meson), DEPLOY_DIR (the source tree's deploy/).

Each node gets exactly the command line and environment the manifest gives its container, with
only what cannot be the same on one machine rewritten: a peer's host name (strata-1,
strata-0.strata-peer) becomes 127.0.0.1, the ports 8000 and 9000 become free ports chosen now
(distinct per node), 0.0.0.0 becomes 127.0.0.1 (a test listens on loopback only), and the
container paths of the data volume and the peer secret become temporary ones. Kubernetes'
$(VAR) references are expanded the way the kubelet does, and the StatefulSet's shell entrypoint
runs under /bin/sh with `strata-server` on PATH, as in the image.

The test waits for a leader, writes a key on one node and reads it on another, runs the health
checks the manifests declare, kills the leader (SIGKILL) and checks that the two others elect a
new one and still serve writes and reads. The Kubernetes flavour also scales to a fourth pod the
way deploy/README.md says (POST /v1/cluster/members, then the pod strata-3 starts) and checks that
it catches up. It prints one key=value summary line and exits 0 on success, 1 on failure.
"""

import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import yaml
except ImportError:
    sys.exit("FAIL: python3 has no yaml module: scripts/setup must install python3-yaml")

DEADLINE_S = 25  # the whole test stays under 30 s (meson's timeout is 60)
HTTP_PORT, PEER_PORT = 8000, 9000  # the container ports of deploy/ (EXPOSE 8000 9000)


def fail(msg):
    raise AssertionError(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- what the manifests say ------------------------------------------------------------------

def dockerfile_runtime(path):
    """ENV and ENTRYPOINT of the Dockerfile's last stage (the image that runs)."""
    text = open(path).read().replace("\\\n", " ")
    stage = re.split(r"^FROM\s", text, flags=re.M)[-1]
    env = {}
    for m in re.finditer(r"^ENV\s+(.*)$", stage, flags=re.M):
        for item in m.group(1).split():
            k, _, v = item.partition("=")
            env[k] = v
    m = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", stage, flags=re.M)
    if not m:
        fail("deploy/Dockerfile: no ENTRYPOINT in exec form")
    healthcheck = re.search(r"^HEALTHCHECK\s.*?\sCMD\s+(.*)$", stage, flags=re.M)
    return env, json.loads(m.group(1)), healthcheck.group(1) if healthcheck else None


def compose_nodes(deploy):
    """[(name, argv, env, container paths -> role, healthcheck argv)] for strata-1..3."""
    env0, entrypoint, _ = dockerfile_runtime(os.path.join(deploy, "Dockerfile"))
    doc = yaml.safe_load(open(os.path.join(deploy, "compose.yaml")))
    names = sorted(doc["services"])
    if names != ["strata-1", "strata-2", "strata-3"]:
        fail(f"compose.yaml: expected the services strata-1..3, found {names}")
    nodes = []
    for name in names:
        svc = doc["services"][name]
        env = dict(env0)
        raw = svc.get("environment") or {}
        if isinstance(raw, list):
            raw = dict(item.split("=", 1) for item in raw)
        env.update({k: str(v) for k, v in raw.items()})
        argv = list(svc.get("entrypoint") or entrypoint) + [str(a) for a in svc.get("command", [])]
        paths = {}
        for v in svc.get("volumes", []):
            source, target = v.split(":")[:2]
            if source not in (doc.get("volumes") or {}):
                fail(f"compose.yaml: {name} mounts {source}, which is no named volume")
            paths[target] = "data"
        for s in svc.get("secrets", []):
            source = s if isinstance(s, str) else s["source"]
            target = s if isinstance(s, str) else s.get("target", source)
            if source not in (doc.get("secrets") or {}):
                fail(f"compose.yaml: {name} uses the secret {source}, which is not declared")
            paths[target if target.startswith("/") else "/run/secrets/" + target] = "secret_file"
        check = svc.get("healthcheck", {}).get("test")
        if not check or check[0] != "CMD":
            fail(f"compose.yaml: {name} has no healthcheck in CMD form")
        nodes.append((name, argv, env, paths, check[1:]))
    volumes = [n[3] for n in nodes]
    if len({tuple(sorted(v.items())) for v in volumes}) != 1 or len(doc.get("volumes") or {}) != 3:
        fail("compose.yaml: expected one named volume per node, mounted at the same path")
    return nodes


def kubelet_expand(s, mapping):
    """$(VAR) expansion as the kubelet does it (k8s third_party/forked/golang/expansion): $$ is a
    literal $, an unknown $(NAME) stays as it is, anything else after $ is copied."""
    out, checkpoint, cursor = [], 0, 0
    while cursor < len(s):
        if s[cursor] == "$" and cursor + 1 < len(s):
            out.append(s[checkpoint:cursor])
            rest = s[cursor + 1:]
            if rest[0] == "$":
                read, advance = "$", 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close < 0:
                    read, advance = "$(", 1
                else:
                    name = rest[1:close]
                    read, advance = mapping.get(name, "$(" + name + ")"), close + 1
            else:
                read, advance = "$" + rest[0], 1
            out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + s[checkpoint:]


def load_kubernetes(deploy):
    """The StatefulSet, its Services, PDB and kustomization, checked against each other."""
    kdir = os.path.join(deploy, "kubernetes")
    kust = yaml.safe_load(open(os.path.join(kdir, "kustomization.yaml")))
    docs = []
    for res in kust["resources"]:
        docs += [d for d in yaml.safe_load_all(open(os.path.join(kdir, res))) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    sts = by_kind["StatefulSet"][0]
    spec = sts["spec"]
    peer_svc = next(s for s in by_kind["Service"] if s["metadata"]["name"] == spec["serviceName"])
    checks = {
        "3 replicas": spec["replicas"] == 3,
        "podManagementPolicy Parallel": spec.get("podManagementPolicy") == "Parallel",
        "a headless peer Service": peer_svc["spec"].get("clusterIP") == "None",
        "the peer Service publishes unready pods": peer_svc["spec"].get("publishNotReadyAddresses") is True,
        "a client Service": any(s["spec"].get("clusterIP") != "None" for s in by_kind["Service"]),
        "a PodDisruptionBudget with maxUnavailable 1":
            by_kind["PodDisruptionBudget"][0]["spec"].get("maxUnavailable") == 1,
        "a volumeClaimTemplate": len(spec.get("volumeClaimTemplates", [])) == 1,
    }
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    ctx = container.get("securityContext", {})
    checks["non-root"] = pod.get("securityContext", {}).get("runAsNonRoot") is True
    checks["a read-only root file system"] = ctx.get("readOnlyRootFilesystem") is True
    checks["resources"] = bool(container.get("resources", {}).get("requests"))
    checks["readiness on GET /readyz"] = container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    checks["liveness on GET /health"] = container["livenessProbe"]["httpGet"]["path"] == "/health"
    secret_names = [g["name"] for g in kust.get("secretGenerator", [])]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    secret_vol = next((v for v in volumes.values() if "secret" in v), None)
    checks["the peer secret volume names the generated Secret"] = (
        secret_vol is not None and secret_vol["secret"]["secretName"] in secret_names)
    bad = [what for what, ok in checks.items() if not ok]
    if bad:
        fail("deploy/kubernetes: missing " + ", ".join(bad))
    gen = next(g for g in kust["secretGenerator"] if g["name"] == secret_vol["secret"]["secretName"])
    secret_keys = [f.split("=", 1)[0] if "=" in f else os.path.basename(f) for f in gen["files"]]
    return sts, pod, container, secret_vol["name"], secret_keys


def kubernetes_pod(deploy, ordinal, namespace="default"):
    sts, pod, container, secret_volume, secret_keys = load_kubernetes(deploy)
    pod_name = f"{sts['metadata']['name']}-{ordinal}"
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = kubelet_expand(str(e["value"]), env)
        elif "fieldRef" in e.get("valueFrom", {}):
            env[e["name"]] = fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            fail(f"statefulset.yaml: env {e['name']}: only value and fieldRef are supported here")
    argv = [kubelet_expand(a, env) for a in container.get("command", []) + container.get("args", [])]
    if not argv:
        fail("statefulset.yaml: the container must give its command (the node id comes from the pod name)")
    paths = {}
    claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
    for m in container.get("volumeMounts", []):
        if m["name"] in claims:
            paths[m["mountPath"]] = "data"
        elif m["name"] == secret_volume:
            for key in secret_keys:
                paths[m["mountPath"].rstrip("/") + "/" + key] = "secret_file"
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")
              if kind in container}
    return pod_name, argv, env, paths, probes, ports


def option(argv, env, name):
    """A strata-server option as the manifest sets it: the flag beats STRATA_NAME."""
    for i, a in enumerate(argv):
        if a == "--" + name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--" + name + "="):
            return a.split("=", 1)[1]
    return env.get("STRATA_" + name.upper().replace("-", "_"))


def check_listen_addresses(name, node, argv, env):
    """strata-server binds --listen and --peer-listen without resolving names (the default of
    --peer-listen is the node's own --peers entry): in a container they must be IP addresses.
    Checked before the rewrite to 127.0.0.1, which would hide a host name."""
    peers = dict(item.split("=", 1) for item in (option(argv, env, "peers") or "").split(",") if item)
    for flag, addr in (("--listen", option(argv, env, "listen")),
                       ("--peer-listen", option(argv, env, "peer-listen") or peers.get(str(node)))):
        host = (addr or "").rsplit(":", 1)[0].strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            fail(f"{name}: {flag} is {addr!r}: strata-server binds it without resolving, it must be an IP address")


# --- running them on loopback ----------------------------------------------------------------

class Cluster:
    def __init__(self, server):
        self.server = server
        self.tmp = tempfile.mkdtemp(prefix="strata-deploy-test-")
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        os.symlink(server, os.path.join(self.bin, "strata-server"))  # as in the image's PATH
        self.secret = os.path.join(self.tmp, "peer_secret")
        with open(self.secret, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(self.secret, 0o400)
        self.procs = {}   # node id -> Popen
        self.dead = set()  # node ids killed on purpose
        self.http = {}    # node id -> port
        self.peer = {}    # node id -> port
        self.deadline = time.monotonic() + DEADLINE_S

    def ports_for(self, node_ids):
        for n in node_ids:
            self.http[n], self.peer[n] = free_port(), free_port()

    def rewrite(self, s, node, host_to_node):
        """Host names to 127.0.0.1 and the container ports to this run's, in one string."""
        def peer_ref(m):
            host, port = m.group(1), int(m.group(2))
            if host not in host_to_node:
                return m.group(0)
            target = host_to_node[host]
            return "127.0.0.1:%d" % (self.peer[target] if port == PEER_PORT else self.http[target])
        s = re.sub(r"(?<![\w.-])([a-z0-9][a-z0-9.-]*):(\d+)", peer_ref, s)

        def own_ref(m):
            port = int(m.group(1))
            return "127.0.0.1:%d" % (self.peer[node] if port == PEER_PORT else self.http[node])
        return re.sub(r"(?:0\.0\.0\.0|127\.0\.0\.1|localhost):(%d|%d)\b" % (HTTP_PORT, PEER_PORT), own_ref, s)

    def start(self, node, name, argv, env, paths, host_to_node):
        check_listen_addresses(name, node, argv, env)
        data = os.path.join(self.tmp, name)
        os.mkdir(data)
        real = {"data": data, "secret_file": self.secret}

        def fix(s):
            s = self.rewrite(s, node, host_to_node)
            for container_path, role in sorted(paths.items(), key=lambda p: -len(p[0])):
                s = s.replace(container_path, real[role])
            return s
        argv = [fix(a) for a in argv]
        env = {k: fix(v) for k, v in env.items()}
        leftover = [m.group(0) for x in argv + list(env.values())
                    for m in re.finditer(r"(?<![\w.-])([a-z0-9][a-z0-9.-]*):(%d|%d)\b" % (HTTP_PORT, PEER_PORT), x)
                    if m.group(1) != "127.0.0.1"]
        if leftover:
            fail(f"{name}: host:port references left after rewriting: {leftover}")
        # Only what the manifest gives: the container's environment, not the test runner's.
        env["PATH"] = self.bin + ":/usr/bin:/bin"
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        print(f"# {name}: node {node}, http {self.http[node]}, peer {self.peer[node]}")
        print("#   argv: " + " ".join(argv[:2] + ["..."] if argv[0] == "/bin/sh" else argv))
        print("#   env: " + " ".join(f"{k}={v}" for k, v in sorted(env.items()) if k.startswith("STRATA_")))
        self.procs[node] = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        return argv, env

    def request(self, node, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.http[node], timeout=3)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        except OSError as e:
            return 0, str(e).encode()
        finally:
            conn.close()

    def wait(self, what, cond):
        while time.monotonic() < self.deadline:
            got = cond()
            if got:
                return got
            for n, p in self.procs.items():
                if p.poll() is not None and n not in self.dead:
                    fail(f"node {n} exited with {p.returncode} while waiting for {what}")
            time.sleep(0.05)
        fail(f"timed out waiting for {what}")

    def kill(self, node):
        self.dead.add(node)
        self.procs[node].send_signal(signal.SIGKILL)
        self.procs[node].wait()

    def live(self):
        return [n for n in sorted(self.procs) if n not in self.dead]

    def leader(self):
        """The node that says it leads and that every live node agrees on, else None."""
        seen = set()
        for n in self.live():
            status, body = self.request(n, "GET", "/status")
            if status != 200:
                return None
            seen.add(json.loads(body)["leader"]["id"])
        return seen.pop() if len(seen) == 1 and 0 not in seen else None

    def check_node_ids(self):
        """Each process is the node the test wired it as (GET /status "node_id")."""
        for n in self.live():
            status, body = self.request(n, "GET", "/status")
            got = json.loads(body).get("node_id") if status == 200 else None
            if got != n:
                fail(f"the process on node {n}'s ports says it is node {got}")

    def put(self, node, key, value):
        def attempt():
            s, _ = self.request(node, "PUT", "/v1/kv/" + key, value.encode(),
                                {"Content-Type": "application/octet-stream"})
            return s == 200
        self.wait(f"PUT {key} on node {node}", attempt)

    def get(self, node, key, stale=False):
        path = "/v1/kv/" + key + ("?consistency=stale" if stale else "")
        return self.wait(f"GET {key} on node {node}",
                         lambda: (lambda r: r[1].decode() if r[0] == 200 else None)(self.request(node, "GET", path)))

    def close(self, ok):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        if not ok:
            for name in sorted(os.listdir(self.tmp)):
                if name.endswith(".log"):
                    lines = open(os.path.join(self.tmp, name), errors="replace").read().splitlines()
                    print(f"# --- last lines of {name}")
                    for line in lines[-15:]:
                        print("#   " + line)
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_kill_leader(c, summary):
    """Kill the leader; the others elect a new one and serve a write and reads."""
    leader = c.wait("a leader", c.leader)
    c.kill(leader)
    new = c.wait("a new leader among the live nodes", lambda: (lambda l: l if l and l != leader else None)(c.leader()))
    writer, reader = c.live()[0], c.live()[-1]
    c.put(writer, "after-kill", "still-serving")
    if c.get(reader, "after-kill") != "still-serving" or c.get(reader, "before-kill") != "first":
        fail("reads after the kill do not see the writes")
    summary.update(killed=leader, new_leader=new, write_after_kill_on=writer, read_on=reader)


def run_compose(c, deploy, summary):
    nodes = compose_nodes(deploy)
    ids = {}
    for name, argv, env, _, _ in nodes:
        joined = " ".join(argv)
        m = re.search(r"--node-id\s+(\d+)", joined) or re.search(r"(\d+)", env.get("STRATA_NODE_ID", ""))
        if not m:
            fail(f"compose.yaml: {name} gives no --node-id")
        ids[name] = int(m.group(1))
    c.ports_for(ids.values())
    image_env, _, image_check = dockerfile_runtime(os.path.join(deploy, "Dockerfile"))
    for name, argv, env, paths, _ in nodes:
        c.start(ids[name], name, argv, env, paths, ids)
    c.wait("every node serving (GET /status)", lambda: all(c.request(n, "GET", "/status")[0] == 200 for n in c.live()))
    c.check_node_ids()
    c.wait("every node ready (GET /readyz)", lambda: all(c.request(n, "GET", "/readyz")[0] == 200 for n in c.live()))
    for name, _, _, _, check in nodes:  # the compose health checks, as the container runtime runs them
        argv = [c.rewrite(a, ids[name], ids) for a in check]
        if subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5).returncode != 0:
            fail(f"{name}: its compose healthcheck failed: {argv}")
    if image_check:  # the image's own HEALTHCHECK, a shell command reading STRATA_LISTEN
        listen = "127.0.0.1:%d" % c.http[1]
        env = {"PATH": "/usr/bin:/bin", **{k: v for k, v in image_env.items()}, "STRATA_LISTEN": listen}
        if subprocess.run(["/bin/sh", "-c", image_check], env=env, stdout=subprocess.DEVNULL, timeout=5).returncode:
            fail(f"the Dockerfile's HEALTHCHECK failed against {listen}: {image_check}")
    a, b = c.live()[0], c.live()[1]
    c.put(a, "before-kill", "first")
    if c.get(b, "before-kill") != "first":
        fail("a write on one node is not read on another")
    summary.update(nodes=len(nodes), wrote_on=a, read_on_other=b, healthchecks="ok")
    check_kill_leader(c, summary)


def run_kubernetes(c, deploy, summary):
    pods = [kubernetes_pod(deploy, i) for i in range(4)]
    host_to_node = {}
    for i, (name, *_rest) in enumerate(pods):
        host_to_node[name] = i + 1
        host_to_node[name + ".strata-peer"] = i + 1
    c.ports_for(range(1, 5))

    def probe_ok(node, probe):
        return c.request(node, "GET", probe["path"])[0] == 200

    for i, (name, argv, env, paths, probes, ports) in enumerate(pods[:3]):
        if ports.get(probes["readinessProbe"]["port"]) != HTTP_PORT:
            fail("the readiness probe's port is not the HTTP port 8000")
        c.start(i + 1, name, argv, env, paths, host_to_node)
    probes = pods[0][4]
    c.wait("every pod serving (GET /status)", lambda: all(c.request(n, "GET", "/status")[0] == 200 for n in c.live()))
    c.check_node_ids()  # pod strata-N is node N+1: the entrypoint's arithmetic
    c.wait("every pod ready (its readinessProbe)", lambda: all(probe_ok(n, probes["readinessProbe"]) for n in c.live()))
    for n in c.live():
        for kind in ("startupProbe", "livenessProbe"):
            if kind in probes and not probe_ok(n, probes[kind]):
                fail(f"node {n}: its {kind} ({probes[kind]['path']}) fails")
    a, b = c.live()[0], c.live()[1]
    c.put(a, "before-kill", "first")
    if c.get(b, "before-kill") != "first":
        fail("a write on one node is not read on another")
    # Scaling to 4 as deploy/README.md says: add node 4 through the leader, then its pod starts.
    leader = c.wait("a leader", c.leader)
    body = json.dumps({"id": 4, "peer_address": "127.0.0.1:%d" % c.peer[4]}).encode()
    status, answer = c.request(leader, "POST", "/v1/cluster/members", body, {"Content-Type": "application/json"})
    if status != 200:
        fail(f"POST /v1/cluster/members on the leader: {status} {answer!r}")
    name, argv, env, paths, _, _ = pods[3]
    c.start(4, name, argv, env, paths, host_to_node)
    c.wait("pod strata-3 ready", lambda: probe_ok(4, probes["readinessProbe"]))
    if c.get(4, "before-kill", stale=True) != "first":
        fail("the fourth node did not catch up")
    c.check_node_ids()
    status, body = c.request(leader, "GET", "/v1/cluster/members")
    members = {m["id"]: m["peer_address"] for m in json.loads(body)["members"]} if status == 200 else {}
    if members.get(4) != "127.0.0.1:%d" % c.peer[4]:
        fail(f"node 4's peer address in the membership is {members.get(4)!r} (its join request must not change it)")
    summary.update(nodes=4, wrote_on=a, read_on_other=b, scaled_to=4, probes="ok")
    check_kill_leader(c, summary)


def main():
    flavour = sys.argv[1] if len(sys.argv) == 2 else ""
    if flavour not in ("compose", "kubernetes"):
        sys.exit("usage: manifest_cluster_test.py compose|kubernetes")
    server, deploy = os.environ.get("STRATA_SERVER"), os.environ.get("DEPLOY_DIR")
    if not server or not deploy:
        sys.exit("FAIL: set STRATA_SERVER and DEPLOY_DIR (meson test does)")
    c = Cluster(os.path.abspath(server))
    summary = {"deploy": flavour}
    start = time.monotonic()
    ok = False
    try:
        (run_compose if flavour == "compose" else run_kubernetes)(c, deploy, summary)
        ok = True
    except AssertionError as e:
        print(f"FAIL: {e}")
    finally:
        c.close(ok)
    summary.update(seconds="%.1f" % (time.monotonic() - start), status="ok" if ok else "failed")
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Web latency: the rep dashboard under 50 concurrent users, against `/healthz` in the same run.

    .venv/bin/python benchmarks/web_bench.py --data-dir data [--workers 2] [--connections 50] [--duration 20]

Starts `openspm serve --workers N` on a free 127.0.0.1 port against the store of `--data-dir` (the demo company:
`openspm demo --reset && openspm run --all`), signs in as a demo rep through the sign-in form, and drives the server
with wrk (`apt-get install wrk`) holding `--connections` connections, each a signed-in user, in two ways:

- **saturation**: every connection sends its next request as soon as the previous one is answered (no think time).
  This measures throughput: with C connections and X requests per second the server can serve, a request waits
  about C / X seconds (Little's law), whatever the page costs.
- **think time**: each connection waits a random 0.5 to 1.5 × `--think` seconds (default 1 s) between requests,
  like a person reading the page. This measures what a user of a busy server sees.

Both for `/dashboard` (the rep's own, the default month) and `/healthz` (one `SELECT 1`: the floor of a request
through the same server, workers and loopback). Prints p50/p90/p95/p99 in milliseconds, requests per second and the
dashboard-to-healthz ratio for each, and the server's CPU time per request (user + system of the server's
processes, divided by the requests answered): unlike the latencies, that figure hardly moves with other load on
the machine. Every answer must be 200 (a lost session would measure redirects): the run fails
otherwise. Traffic goes to 127.0.0.1 only, and each wrk run stops after `--duration` seconds.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
PASSWORD = "openspm-demo"
# wrk's Lua hooks: an optional think time per connection, and the figures as one JSON line at the end.
SCRIPT = """
local think_ms = tonumber(os.getenv("WEB_BENCH_THINK_MS") or "0")
math.randomseed(os.time())
function delay()
  if think_ms <= 0 then return 0 end
  return math.random(math.floor(think_ms * 0.5), math.floor(think_ms * 1.5))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WEB_BENCH {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, '
    .. '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}) before answering /healthz")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer {url}/healthz within {seconds:.0f} s")


def demo_rep(env: dict[str, str]) -> str:
    """The email of the first demo rep (by email) whose payee has live earnings."""
    code = (
        "from sqlalchemy import select\n"
        "from sqlalchemy.orm import Session\n"
        "from openspm.store.db import make_engine\n"
        "from openspm.store import models as m\n"
        "with Session(make_engine()) as s:\n"
        "    print(s.scalars(select(m.User.email).join(m.UserRole, m.UserRole.user_id == m.User.id)"
        ".join(m.Role, m.Role.id == m.UserRole.role_id).join(m.LiveEarning, m.LiveEarning.payee_id == m.User.payee_id)"
        ".where(m.Role.name == 'rep').order_by(m.User.email).limit(1)).one())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def sign_in(url: str, email: str, password: str) -> str:
    """Sign in through the form; the `Cookie` header value of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{url}/login") as page:
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    if found is None:
        raise SystemExit("no CSRF token on the sign-in page")
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": found.group(1)}).encode()
    with opener.open(f"{url}/login", data=form) as answer:
        if not answer.url.endswith("/dashboard"):
            raise SystemExit(f"signing in as {email} landed on {answer.url}, not the dashboard")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children (the server's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # gone, or no /proc (not Linux): CPU figures are then partial
            continue
    return total


def wrk(
    url: str, path: str, cookie: str, connections: int, seconds: int, think_ms: int, script: Path, server: int
) -> dict[str, float]:
    """One wrk run: its figures (milliseconds, requests per second, server CPU milliseconds per request)."""
    threads = max(1, min(2, connections))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        f"Cookie: {cookie}",
        f"{url}{path}",
    ]
    env = {**os.environ, "WEB_BENCH_THINK_MS": str(think_ms)}
    cpu = cpu_seconds(server)
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(server) - cpu
    line = next((x for x in output.splitlines() if x.startswith("WEB_BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    raw = json.loads(line.removeprefix("WEB_BENCH "))
    if raw["errors"] or raw["non2xx"]:
        raise SystemExit(f"{path}: {raw['errors']} socket errors and {raw['non2xx']} answers other than 2xx/3xx")
    figures = {k: raw[k] / 1000 for k in ("p50", "p90", "p95", "p99", "max")}
    figures["rps"] = raw["requests"] / (raw["duration_us"] / 1e6)
    figures["requests"] = raw["requests"]
    figures["cpu_ms"] = cpu * 1000 / max(1, raw["requests"])
    return figures


def check_page(url: str, path: str, cookie: str) -> None:
    """The page answers 200 with the session (wrk counts a 303 to /login as a success)."""
    request = urllib.request.Request(f"{url}{path}", headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise SystemExit(f"{path} answered {status} with the session cookie, not 200")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("OPENSPM_DATA_DIR", "data")))
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: `openspm serve`'s)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time in seconds (0: skip that part)")
    parser.add_argument("--user", default=None, help="the rep to sign in as (default: the first demo rep)")
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    if not (args.data_dir / "openspm.db").exists() and "OPENSPM_DATABASE_URL" not in os.environ:
        raise SystemExit(f"no store in {args.data_dir}: openspm demo --reset && openspm run --all")
    env = {**os.environ, "OPENSPM_DATA_DIR": str(args.data_dir.resolve())}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "src"), env.get("PYTHONPATH")]))
    email = args.user or demo_rep(env)
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "openspm.cli.main", "serve", "--host", HOST, "--port", str(port)]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    before_load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below, after the server)
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        wait_healthy(url, server)
        cookie = sign_in(url, email, args.password)
        check_page(url, "/dashboard", cookie)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(SCRIPT)
            script = Path(handle.name)
        wrk(url, "/dashboard", cookie, args.connections, 3, 0, script, server.pid)  # warm up: caches, connection pools
        modes = [("saturation", 0)] + ([("think time", round(args.think * 1000))] if args.think > 0 else [])
        results: list[tuple[str, str, dict[str, float]]] = []
        for mode, think_ms in modes:
            for path in ("/healthz", "/dashboard"):
                figures = wrk(url, path, cookie, args.connections, args.duration, think_ms, script, server.pid)
                results.append((mode, path, figures))
        script.unlink()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    workers = args.workers if args.workers is not None else "default"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.connections} connections, {args.duration} s each, workers {workers}, {os.cpu_count()} cores; {email}")
    print(f"load average before {before_load}, after {load} (another load on the machine shows in every figure)")
    header = f"{'mode':<12} {'path':<11} {'p50 ms':>8} {'p90 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}"
    header += f" {'cpu ms/req':>11}"
    print(header)
    print("-" * len(header))
    for mode, path, f in results:
        label = f"think {round(args.think * 1000)}ms" if mode == "think time" else mode
        print(
            f"{label:<12} {path:<11} {f['p50']:8.1f} {f['p90']:8.1f} {f['p95']:8.1f} {f['p99']:8.1f} {f['rps']:8.1f} "
            f"{f['cpu_ms']:11.2f}"
        )
    for mode, _ in modes:
        health = next(f for m_, p, f in results if m_ == mode and p == "/healthz")
        page = next(f for m_, p, f in results if m_ == mode and p == "/dashboard")
        print(
            f"{mode}: dashboard p95 {page['p95']:.1f} ms = {page['p95'] / health['p95']:.1f} × /healthz p95 "
            f"{health['p95']:.1f} ms; throughput {page['rps'] / health['rps']:.2f} × /healthz"
        )


if __name__ == "__main__":
    main()

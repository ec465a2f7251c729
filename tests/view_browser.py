#!/usr/bin/env python3
"""view_browser.py: `arithlab view` checked in a real browser (CTest: view_browser).

Trains a tiny run, adds what the page shows (the Fourier probe, generated
patching pairs, a mean ablation), writes the page with `arithlab view`, and
opens it in headless Chromium driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: no port, standard library only). It fails when the
page logs an error or throws, when a section is missing, when hovering a cell
of the accuracy grid does not show that cell's accuracy from
eval/accuracy_grid.csv (which has a cell left out, as a real grid may), when hovering an attention cell does not show its query
and key tokens and weight, or when the screenshot (saved as view.png beside the
page) is blank. Exits 77 (CTest's skip) only when no Chromium can be found
(Debian: apt-get install chromium; tools/setup.sh --tests installs it).

    view_browser.py --arithlab build/arithlab [--keep DIR]
"""
import argparse
import base64
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"view_browser: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}")
    return r.stdout


def make_run(arithlab, work):
    """a tiny trained run with every file the page reads"""
    base = ["--threads", "1"]
    run([arithlab, "train", "--out", "run", "--set", "train.steps=40", "--set", "model.n_layer=2",
         "--set", "model.n_embd=32", "--set", "model.n_head=2", "--set", "train.eval_every=0",
         "--set", "eval.per_cell=4", "--set", "eval.n_population=0", "--set", "task.max_len=3",
         "--set", "eval.max_len=4", "--set", "train.threads=1"], work)
    run([arithlab, "probe", "fourier", "--run", "run", "--n", "64"] + base, work)
    run([arithlab, "patch", "--run", "run", "--pairs", "digit", "--n", "3"] + base, work)
    run([arithlab, "ablate", "--run", "run", "--mode", "mean", "--n", "16", "--ref", "16"] + base, work)
    # a grid with a hole, as when every problem of a cell was drawn in training (no held-out one)
    grid = os.path.join(work, "run", "eval", "accuracy_grid.csv")
    with open(grid) as f:
        lines = f.readlines()
    with open(grid, "w") as f:
        f.writelines(lines[:2] + lines[3:])
    out = run([arithlab, "view", "--run", "run"] + base, work)
    page = os.path.join(work, "run", "view.html")
    if not os.path.exists(page):
        sys.exit(f"view_browser: arithlab view wrote no page:\n{out}")
    return page


class Browser:
    """Chromium over --remote-debugging-pipe: fd 3 reads commands, fd 4 writes replies, NUL-separated JSON"""

    def __init__(self, exe, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():   # copies first: a pipe end may itself be fd 3 or 4, and dup2 onto itself keeps close-on-exec
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--window-size=1280,2400", "about:blank"]
        # close_fds would close 3 and 4 after preexec_fn; the other pipe ends are not inheritable
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()}): {err[-2000:]}")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=60):
        deadline = time.time() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                del self.events[i]
                return e
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def png_pixels(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA non-interlaced PNG"""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and not interlace, f"PNG kind {depth}/{ctype}/{interlace}"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def check_page(exe, page, work):
    failures = []
    b = Browser(exe, os.path.join(work, "profile"))
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for d in ("Page.enable", "Runtime.enable", "Log.enable"):
            b.send(d, session=s)
        b.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 2400, "deviceScaleFactor": 1, "mobile": False}, session=s)
        b.send("Page.navigate", {"url": "file://" + os.path.abspath(page)}, session=s)
        b.wait_event("Page.loadEventFired")

        def js(expr):
            r = b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=s)
            if "exceptionDetails" in r:
                raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
            return r["result"].get("value")

        if not js("window.arithlabView && window.arithlabView.ready"):
            failures.append("the page's script did not finish (arithlabView.ready is not true)")
        sections = js("Array.from(document.querySelectorAll('h2')).map(function (h) { return h.textContent; })") or []
        for want in ("Training curves", "Accuracy grid", "Attention patterns", "Fourier spectra", "Patching and ablation"):
            if want not in sections:
                failures.append(f"section '{want}' missing (sections: {sections})")
        for hm in ("grid", "attention", "patch_resid", "patch_mlp", "patch_heads", "ablate", "lens_spectrum"):
            if not js(f"!!window.arithlabView.heatmaps['{hm}']"):
                failures.append(f"heatmap '{hm}' missing")

        def hover(hm, i, j):
            c = js(f"JSON.stringify(window.arithlabView.heatmaps['{hm}'].cellCenter({i}, {j}))")
            c = json.loads(c)
            js(f"window.scrollTo(0, 0)")
            c = json.loads(js(f"JSON.stringify(window.arithlabView.heatmaps['{hm}'].cellCenter({i}, {j}))"))
            if c["y"] > 2300:   # below the viewport: scroll it into view
                js(f"window.arithlabView.heatmaps['{hm}'].canvas.scrollIntoView()")
                c = json.loads(js(f"JSON.stringify(window.arithlabView.heatmaps['{hm}'].cellCenter({i}, {j}))"))
            b.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": c["x"], "y": c["y"]}, session=s)
            return js("document.getElementById('tip').style.display === 'block' ? document.getElementById('tip').textContent : ''")

        # the accuracy grid: each hovered cell shows its row of the CSV
        with open(os.path.join(os.path.dirname(page), "eval", "accuracy_grid.csv")) as f:
            grid = list(csv.DictReader(f))
        for r in grid[:3] + grid[-1:]:
            i, j = int(r["len_a"]) - 1, int(r["len_b"]) - 1
            text = hover("grid", i, j)
            want = f"{r['len_a']}-digit a, {r['len_b']}-digit b: accuracy {r['accuracy']} ({r['correct']} of {r['n']})"
            if want not in text:
                failures.append(f"hovering grid cell ({i}, {j}) shows '{text}', not '{want}'")
        hole = (int(grid[0]["len_a"]) - 1, int(grid[0]["len_b"]))   # the cell removed in make_run
        text = hover("grid", *hole)
        if text:
            failures.append(f"hovering the empty grid cell {hole} shows {text!r}")
        # an attention cell: the query and key tokens and the weight of the pattern
        att = js("JSON.stringify({t: window.arithlabView && document.getElementById('data') ? "
                 "JSON.parse(document.getElementById('data').textContent).attention : null})")
        A = json.loads(att)["t"]
        T = len(A["tokens"])
        q, k = T - 1, 1
        text = hover("attention", q, k)
        w = A["pattern"][0][0][q * T + k]
        want = f"query {q} '{A['tokens'][q]}' -> key {k} '{A['tokens'][k]}'\nweight {w:.4f}"
        if want not in text:
            failures.append(f"hovering attention cell ({q}, {k}) shows {text!r}, not {want!r}")
        text = hover("patch_heads", 0, 0)
        if "restored" not in text:
            failures.append(f"hovering the head patching grid shows {text!r}")

        js("window.scrollTo(0, 0)")
        shot = base64.b64decode(b.send("Page.captureScreenshot", {"format": "png"}, session=s)["data"])
        png = os.path.join(os.path.dirname(page), "view.png")
        with open(png, "wb") as f:
            f.write(shot)
        w_px, h_px, rows = png_pixels(shot)
        counts = {}
        for row in rows[::4]:
            for p in row[::4]:
                counts[p] = counts.get(p, 0) + 1
        total = sum(counts.values())
        background = max(counts.values())
        if len(counts) < 20 or total - background < 0.02 * total:
            failures.append(f"the screenshot {png} looks blank: {len(counts)} colours, "
                            f"{100.0 * (total - background) / total:.1f}% of pixels off the background")
        else:
            print(f"view_browser: screenshot {w_px}x{h_px}, {len(counts)} colours, "
                  f"{100.0 * (total - background) / total:.1f}% of pixels off the background ({png})")

        errors = []
        for e in b.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                errors.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console." + p["type"] + ": " + json.dumps(p.get("args", []))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append("log: " + p["entry"].get("text", "")[:500])
        failures += [f"the page reported an error: {x}" for x in errors]
    finally:
        b.close()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arithlab", required=True)
    ap.add_argument("--keep", help="work in this directory and leave it (default: a temporary one, removed)")
    a = ap.parse_args()
    exe = find_chromium()
    if not exe:
        print("view_browser: SKIPPED: no Chromium found (apt-get install chromium, or tools/setup.sh --tests)")
        return SKIP
    work = a.keep or tempfile.mkdtemp(prefix="arithlab_view_")
    os.makedirs(work, exist_ok=True)
    try:
        page = make_run(os.path.abspath(a.arithlab), work)
        failures = check_page(exe, page, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("view_browser: the page renders without errors; hovering shows the values; the screenshot is not blank")
    return 0


if __name__ == "__main__":
    sys.exit(main())

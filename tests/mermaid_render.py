"""Render Mermaid diagrams with the real Mermaid library in headless Chromium: what GitHub
draws is what this draws. Each diagram gives ("ok", boxes, edges) or ("error", message)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# `npm install mermaid@11` puts it here in CI (.ci/run); elsewhere set CNNCHECK_MERMAID_JS.
MERMAID_JS = Path(os.environ.get("CNNCHECK_MERMAID_JS", "node_modules/mermaid/dist/mermaid.min.js"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

_PAGE = """<!doctype html><html><body><div id="out"></div><pre id="result">pending</pre>
<script src="%s"></script>
<script>
const diagrams = %s;
mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
(async () => {
  const results = [];
  for (const [i, text] of diagrams.entries()) {
    try {
      const {svg} = await mermaid.render("d" + i, text);
      const holder = document.createElement("div");
      holder.innerHTML = svg;
      document.getElementById("out").appendChild(holder);
      results.push(["ok", holder.querySelectorAll("g.node").length,
                    holder.querySelectorAll("path.flowchart-link, g.edgePaths path").length]);
    } catch (e) { results.push(["error", String(e && e.message || e)]); }
  }
  document.getElementById("result").textContent = JSON.stringify(results);
})();
</script></body></html>"""


def available() -> str | None:
    """Why diagrams can't be rendered here, or None where they can."""
    if CHROMIUM is None:
        return "no Chromium (Debian: apt-get install chromium)"
    if not MERMAID_JS.is_file():
        return f"no Mermaid at {MERMAID_JS} (npm install mermaid@11)"
    return None


def render(diagrams: list[str], screenshot: Path | None = None) -> list[list[object]]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.html"
        page.write_text(_PAGE % (MERMAID_JS.resolve().as_uri(), json.dumps(diagrams)), encoding="utf-8")
        flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={folder}/profile", "--virtual-time-budget=30000",
                 "--allow-file-access-from-files"]
        if screenshot is not None:
            subprocess.run([*flags, f"--screenshot={screenshot}", "--window-size=1400,2400", page.as_uri()],
                           capture_output=True, timeout=120, check=False)
        done = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                              timeout=120, check=False)
    start = done.stdout.find('<pre id="result">')
    end = done.stdout.find("</pre>", start)
    text = done.stdout[start + len('<pre id="result">'):end]
    import html

    return json.loads(html.unescape(text)) if text.startswith("[") else [["error", text or done.stderr[-500:]]]

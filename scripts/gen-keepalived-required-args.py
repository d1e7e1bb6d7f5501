#!/usr/bin/env python3
"""Generate src/keepalived/required_args.json: the keywords whose handler reads a parameter
unconditionally, so that the keyword alone on its line makes keepalived exit with
"*** Configuration line starting `KW` is missing a parameter ..." (lib/parser.c
null_strvec(): report_config_error(CONFIG_MISSING_PARAMETER, ...) then
exit(KEEPALIVED_EXIT_CONFIG)).

Measured, not guessed: every plain keyword of src/keepalived/keywords.json is written alone
inside a minimal block of its kind and `keepalived -t` is run on it (as root, in a throwaway
mount and network namespace, like tests/lint_keepalived_t.rs). Keywords the installed
keepalived does not know are skipped. Usage: sudo scripts/gen-keepalived-required-args.py
"""
import json, os, subprocess, tempfile, concurrent.futures

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
table = json.load(open(os.path.join(root, "src/keepalived/keywords.json")))

# How to open each block so that its handler accepts the opening line.
OPEN = {
    "SSL": "SSL", "bfd_instance": "bfd_instance b1", "garp_group": "garp_group",
    "global_defs": "global_defs", "track_file": "track_file f1", "track_group": "track_group g1",
    "virtual_server": "virtual_server 10.0.0.1 80", "real_server": "real_server 10.0.0.2 80",
    "url": "url", "host": "host", "vrrp_instance": "vrrp_instance VI_1",
    "auth_hmac": "auth_hmac", "authentication": "authentication", "vrrp_script": "vrrp_script s1",
    "vrrp_sync_group": "vrrp_sync_group G1", "vrrp_track_file": "vrrp_track_file f1",
    "vrrp_track_process": "vrrp_track_process p1",
}

def config(path, kw):
    parts = path.split(".") if path else []
    head = "".join(f"{OPEN.get(p, p)} {{\n" for p in parts)
    # line 1 + len(parts) holds the keyword
    return head + kw + "\n" + "}\n" * len(parts), 1 + len(parts)

version = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
version = (version.stdout + version.stderr).splitlines()[0]

def probe(item):
    path, kw = item
    text, line = config(path, kw)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(
            ["unshare", "--mount", "--net", "--fork", "sh", "-c",
             f"mount -t tmpfs tmpfs /run && exec timeout 20 keepalived -t -f '{f.name}' -l -D"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace").stdout
    finally:
        os.unlink(f.name)
    want = f"Line {line}) *** Configuration line starting `{kw}` is missing a parameter"
    return item if any(want in l for l in out.splitlines()) else None

items = [(p, kw) for p, kws in table["blocks"].items() for kw, kind in kws.items() if kind == ""]
with concurrent.futures.ThreadPoolExecutor(2) as ex:
    found = sorted(f"{p}.{kw}" if p else kw for r in ex.map(probe, items) if r for p, kw in [r])
json.dump({"source": f"{version}: keepalived -t on each keyword alone on its line", "required": found},
          open(os.path.join(root, "src/keepalived/required_args.json"), "w"), indent=0)
print(f"{len(found)} of {len(items)} keywords need a parameter ({version})")

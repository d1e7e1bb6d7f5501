#!/usr/bin/env python3
"""Generate src/keepalived/keywords.json, the compact keyword table lbdoctor embeds.

Input: the keyword tree dumped from keepalived 2.4.3 (`--debug=K`) and the per-block
keyword list (both in ../shared/reference). Output: {"blocks": {path: {kw: kind}},
"aliases": {...}, "deprecated": [...]}, where kind is "" (plain keyword), "{}" (value
block: data lines, not keywords) or "B" (a sub-level of keywords, whose path is
path + "." + kw, or kw at the root).
"""
import json, sys, os

ref = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/reference")
tree = json.load(open(os.path.join(ref, "keepalived_keyword_tree.json")))
flat = json.load(open(os.path.join(ref, "keepalived_keywords.json")))
value_blocks = set()
for vb in flat["_value_blocks"]:
    blk, kw = vb.split(".", 1)
    value_blocks.add(("" if blk == "top_level" else blk, kw))

blocks = {}

def short(path):
    # keywords.json names sub-blocks by their last two components (HTTP_GET.url)
    parts = path.split(".") if path else []
    return ".".join(parts[-2:]) if len(parts) >= 2 and parts[-1] in ("url", "host", "authentication", "auth_hmac") else (parts[-1] if parts else "")

def walk(nodes, path):
    table = blocks.setdefault(path, {})
    sp = short(path)
    for n in nodes:
        kw = n["keyword"]
        if (sp, kw) in value_blocks:
            table[kw] = "{}"
        elif "children" in n:
            table[kw] = "B"
            walk(n["children"], f"{path}.{kw}" if path else kw)
        else:
            table.setdefault(kw, "")

walk(tree, "")
# keywords known to exist in builds other than the dump's (vrrp_ipsets needs libipset)
for blk, kws in flat.items():
    if blk.startswith("_"):
        continue
    targets = [p for p in blocks if short(p) == ("" if blk == "top_level" else blk)]
    for p in targets:
        for kw in kws:
            if kw not in blocks[p]:
                if (blk if blk != "top_level" else "", kw) in value_blocks:
                    continue
                blocks[p][kw] = ""
                print(f"added {p}.{kw}", file=sys.stderr)
# virtual_server_group is a value block whose data lines can start with 'fwmark'
blocks.pop("virtual_server_group", None)

aliases = {}
for a in flat["_aliases"]:
    left, canon = a.split("=")
    blk, kw = left.split(".", 1)
    aliases[("" if blk == "top_level" else blk) + "." + kw] = canon
out = {"source": flat["_source"][0], "blocks": blocks, "aliases": aliases,
       "deprecated": sorted(flat["_deprecated"])}
json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)

#!/usr/bin/env python3
"""Write the committed fuzz seeds (fuzz/corpus/<target>/seed-*) from fixtures/ and small
generated inputs. The shared public corpus is not copied: scripts/fuzz.sh reads it at fuzz
time. Re-run after fixtures change; libFuzzer adds its own finds next to these."""
import glob, os, re, struct, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
C = "fuzz/corpus"

def put(target, name, data):
    os.makedirs(f"{C}/{target}", exist_ok=True)
    with open(f"{C}/{target}/seed-{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def pcap_records(d):
    """(little-endian?, linktype, [record bytes]) of a classic pcap."""
    magic = struct.unpack("<I", d[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        return None
    lt = struct.unpack(e + "I", d[20:24])[0]
    recs, o = [], 24
    while o + 16 <= len(d):
        incl = struct.unpack(e + "I", d[o + 8:o + 12])[0]
        if o + 16 + incl > len(d):
            break
        recs.append(d[o:o + 16 + incl])
        o += 16 + incl
    return e, lt, recs

LINKTYPES = [0, 1, 101, 12, 14, 108, 113, 228, 229, 276]  # order of fuzz_targets/decode.rs

# keepalived: the incident configs and small constructs the lexer treats specially.
for p in glob.glob("fixtures/incidents/*.conf"):
    put("keepalived", os.path.basename(p), open(p, "rb").read())
put("keepalived", "gen-lexer", """@lb1 global_defs { router_id lb1 }
@^lb1 global_defs { router_id other }
$VIP=192.168.21.20
$RS={ real_server $1 80 { weight 1 TCP_CHECK { connect_timeout 3 } } }
~SEQ(i,1,3) virtual_server 10.0.0.$i 80 { lb_algo rr }
virtual_server ${VIP} 80 {
    lvs_sched rr
    lb_algo lc   # the later wins
    lvs_method DR
    protocol TCP
    persistence_timeout 50
    include /etc/keepalived/rs/*.conf
    real_server 192.168.21.11 80 { weight 1 inhibit_on_failure HTTP_GET { url { path / status_code 200 } connect_port 80 } }
}
virtual_server_group G { 192.168.21.20-25 80 fwmark 7 }
virtual_server group G { lb_kind NAT }
virtual_server fwmark 7 { lb_algo wlc }
vrrp_instance VI_1 { state MASTER interface eth0 virtual_router_id 51 priority 100 nopreempt
  advert_int 1 authentication { auth_type PASS auth_pass secret }
  virtual_ipaddress { 192.168.21.20/24 dev eth0 } unicast_src_ip 192.168.21.2 unicast_peer { 192.168.21.3 } }
# lbdoctor: ignore LB001
""")
put("keepalived", "gen-unbalanced", "virtual_server 1.2.3.4 80 {\n real_server 1.1.1.1 80 {\n}}}\n{\n\"unterminated\n")

# decode: single frames of each link type, prefixed with the selector byte.
for p in sorted(glob.glob("fixtures/detect/crafted/*.pcap")):
    r = pcap_records(open(p, "rb").read())
    if not r:
        continue
    e, lt, recs = r
    if lt not in LINKTYPES:
        continue
    for i, rec in enumerate(recs[:3]):
        put("decode", f"{os.path.basename(p)}-{i}", bytes([LINKTYPES.index(lt)]) + rec[16:])

# capture: the first packets of each crafted/lab capture (small, fast seeds) + the pcapng.
for p in sorted(glob.glob("fixtures/detect/*/*.pcap")):
    d = open(p, "rb").read()
    r = pcap_records(d)
    if r:
        name = p.split("/")[-2] + "-" + os.path.basename(p)
        put("capture", name, d[:24] + b"".join(r[2][:12]))
for p in sorted(glob.glob("fixtures/detect/*/*.pcapng")):
    put("capture", os.path.basename(p), open(p, "rb").read()[:6000])

# ipvs: every state fixture (ipvsadm outputs and /proc files, good and broken).
for p in sorted(glob.glob("fixtures/state/**/*.txt", recursive=True)):
    d = open(p, "rb").read()
    put("ipvs", p.replace("fixtures/state/", "").replace("/", "-"), d[:20000])

# host facts: the gather script's real output on this machine, whole and per section.
src = open("src/audit/facts.rs").read()
m = re.search(r'pub const GATHER_SCRIPT: &str = r#"(.*?)"#;', src, re.S)
mark = re.search(r'pub const MARK: &str = "(.*?)";', src).group(1)
if m and os.geteuid() == 0:
    out = subprocess.run(["sh", "-s"], input=m.group(1).encode(), capture_output=True, timeout=60).stdout
    put("host_facts", "local-gather", out[:60000])
    sel = {"sysctl": 0, "iptables": 2, "nft": 3, "addr": 4, "addr-text": 5, "link": 5, "ss": 6}
    for sec in out.decode(errors="replace").split(mark)[1:]:
        head, _, body = sec.partition("\n")
        name = head.strip().split(" ")[0]
        if name in sel:
            put("host_parsers", name, bytes([sel[name]]) + body.encode()[:20000])
put("host_parsers", "sysctl-file", bytes([1]) + b"# comment\nnet.ipv4.conf.all.arp_ignore = 1\n-net.ipv4.conf.eth0.rp_filter=0\nnet/ipv4/conf/all/arp_announce=2\n")
put("host_parsers", "iptables-save", bytes([2]) + b"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.21.20/32 -p tcp -m tcp --dport 80 -j REDIRECT\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.0/8 -p tcp --dport 80 -m conntrack --ctstate NEW -j DROP\n-A INPUT -m comment --comment \"a \\\"quoted\\\" one\" -j ACCEPT\nCOMMIT\n")
put("host_parsers", "nft", bytes([3]) + b"table ip nat {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 192.168.21.20 tcp dport 80 redirect\n\t}\n}\n")
put("host_parsers", "ipvs", bytes([7]) + open("fixtures/state/incident-proc-ip_vs.txt", "rb").read())

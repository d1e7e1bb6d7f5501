#!/usr/bin/env bash
# Generate a large keepalived.conf: VS virtual servers x RS real servers, each real server
# with an HTTP_GET checker (13 lines), about 1.4 million lines for the default 10000 x 10.
# Usage: benches/gen-keepalived.sh [VS] [RS] > big.conf
set -euo pipefail
VS=${1:-10000}
RS=${2:-10}
awk -v nvs="$VS" -v nrs="$RS" 'BEGIN {
  print "global_defs {\n    router_id bench\n}\n"
  for (v = 0; v < nvs; v++) {
    a = int(v / 65536) % 256; b = int(v / 256) % 256; c = v % 256
    printf "virtual_server 10.%d.%d.%d 80 {\n", a, b, c
    print "    delay_loop 10\n    lvs_sched rr\n    lvs_method DR\n    protocol TCP"
    for (r = 0; r < nrs; r++) {
      printf "    real_server 172.%d.%d.%d 80 {\n", 16 + (v % 16), int(v / 16) % 256, r + 1
      print "        weight 1\n        inhibit_on_failure\n        HTTP_GET {\n            url {\n                path /health\n                status_code 200\n            }\n            connect_timeout 3\n            retry 3\n            delay_before_retry 2\n        }\n    }"
    }
    print "}"
  }
}'

//! DR005: the IPVS connection hash table is small for the connection count, or connection
//! entries eat a large share of memory.
use crate::audit::parse::ipvs;
use crate::audit::Analysis;
use crate::Finding;

/// Approximate kernel size of one ip_vs_conn entry (slab object), bytes.
const CONN_BYTES: u64 = 256;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let (Some(text), Some(conns)) = (a.f.ip_vs.as_deref(), a.f.ip_vs_conn_count) else {
        return;
    };
    let size = ipvs::parse(text).size.unwrap_or(4096);
    if conns > size * 16 {
        out.push(
            Finding::new("DR005", &a.f.host, format!("{conns} IPVS connections in a hash table of {size} buckets ({} per bucket): lookups slow down under load; size it near connections/s x duration", conns / size.max(1)))
                .evidence(format!("/proc/net/ip_vs: size={size}; /proc/net/ip_vs_conn: {conns} entries"))
                .fix_text("load ip_vs with a larger table: options ip_vs conn_tab_bits=20 in /etc/modprobe.d/ip_vs.conf, then reload the module"),
        );
    }
    let mem = a.f.mem_total_kb * 1024;
    if mem > 0 && conns * CONN_BYTES * 4 > mem {
        out.push(
            Finding::new("DR005", &a.f.host, format!("IPVS connection entries use about {} MiB, over a quarter of the {} MiB of RAM: a SYN flood can exhaust memory (\"ip_vs_conn_new: no memory available\")", (conns * CONN_BYTES) >> 20, mem >> 20))
                .evidence(format!("{conns} connections x ~{CONN_BYTES} bytes"))
                .fix_text("enable net.ipv4.vs.drop_entry / amemthresh defenses and filter the flood upstream"),
        );
    }
}

//! RS016: effective rp_filter (max of all and tunl0) is strict on an LVS-TUN real server.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    super::sysctl_check(a, out, "RS016");
}

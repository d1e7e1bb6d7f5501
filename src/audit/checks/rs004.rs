//! RS004: effective arp_announce (max of all and the interface) is wrong on a segment interface.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    super::sysctl_check(a, out, "RS004");
}

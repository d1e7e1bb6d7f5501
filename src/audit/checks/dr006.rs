//! DR006: 32-bit kernel on a director (low memory for the kernel's tables).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let arch = a.f.arch.as_str();
    if matches!(
        arch,
        "i386" | "i486" | "i586" | "i686" | "armv6l" | "armv7l" | "armhf" | "mips" | "ppc"
    ) {
        out.push(
            Finding::new("DR006", &a.f.host, format!("the director runs a 32-bit kernel ({arch}): kernel memory (lowmem) for IPVS connections and conntrack is small, so a SYN flood exhausts it"))
                .evidence(format!("uname -m: {arch}; uname -r: {}", a.f.kernel))
                .fix_text("move the director to a 64-bit kernel"),
        );
    }
}

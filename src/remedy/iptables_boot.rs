//! Persisting our iptables rules where no distribution service restores them at boot (no
//! netfilter-persistent, no iptables-services) without installing anything: a unit of ours
//! that puts back only our rules, from a file of ours.

/// Our rules, in iptables-save form (only lbdoctor's rules; policies in it are not applied).
pub const RULES: &str = "/etc/lbdoctor/iptables.rules";
/// The script the unit runs: adds each rule of RULES that is missing, nothing else.
pub const SCRIPT: &str = "/etc/lbdoctor/restore-iptables";
pub const UNIT_NAME: &str = "lbdoctor-iptables.service";
pub const UNIT: &str = "/etc/systemd/system/lbdoctor-iptables.service";

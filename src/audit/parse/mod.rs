//! Parsers for the command output and files gathered from a host. Each takes text and
//! never fails: lines it does not understand are skipped.

pub mod ip;
pub mod iptables;
pub mod ipvs;
pub mod nft;
pub mod ss;
pub mod sysctl;

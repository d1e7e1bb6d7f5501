//! Packet capture: sources (live, file), frame decoding, flow table, analyzers for `detect`.

pub mod analyze;
pub mod decode;
pub mod flow;
pub mod live;
pub mod probe;
pub mod source;
pub mod synth;
pub mod verdict;

//! IPVS state: /proc/net/ip_vs* and ipvsadm output parsers, the model, `state` checks.

//! lbdoctor: diagnose and repair LVS/IPVS + keepalived load balancers.
//!
//! Data flows one way: source → parse → model → checks → findings → render.

pub mod audit;
pub mod capture;
pub mod check;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod error;
pub mod finding;
pub mod fix;
pub mod gendocs;
pub mod ipvs;
pub mod keepalived;
pub mod remedy;
pub mod remote;
pub mod report;

pub use finding::{Finding, Location, Severity};
pub use report::Report;

//! `bidi-server` as a process on a real socket: its routes, limits, conversations through
//! the real agent and the simulator, the slow reader, the drain and the metrics.

mod access;
mod browser;
mod conversation;
mod deploy_files;
mod drain;
mod limits;
mod load_balancer;
mod s3_sessions;
mod support;
mod twilio;

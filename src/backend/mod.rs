//! Back-end routing: the contract's types, the route table, the HTTP client, the journal-first
//! engine, the outbox relay and the demo back end.

pub mod api;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo_cli;
pub mod engine;
pub mod http;
#[cfg(feature = "demo")]
mod seal;
#[cfg(feature = "demo")]
pub mod sim;

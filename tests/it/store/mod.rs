//! Stores: the `Store` contract, run against both backends, and what only one backend has.
//!
//! - `contract`: every case about the `Store` trait, written once over a `Harness` and run
//!   against a `MemoryStore` and against a `RedisStore` on `REDIS_URL`;
//! - `memory`: purging, the capacity bound, the purger task;
//! - `redis`: settings, key expiry, the local revocation view through outages (`REDIS_URL`);
//! - `harness`: the backends under test, service instances over HTTP, small helpers.
//!
//! Without `REDIS_URL`, every Redis test prints "skipped: REDIS_URL unset" and passes.

mod contract;
mod harness;
mod memory;
#[cfg(feature = "redis")]
mod redis;

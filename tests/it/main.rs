//! tokengate's integration tests: one binary, a module per area, shared helpers in `support`.
//!
//! One binary links the crate and its dependencies once (seventeen did before). Areas that need a
//! feature are compiled with it (`cli`, `redis`); the Redis tests need `REDIS_URL` (the README's
//! test command starts a throw-away server and sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test reports failure

mod support;

mod auth;
#[cfg(feature = "cli")]
mod cli;
mod cookie;
mod cookie_session;
mod example_api;
mod extract;
mod issue;
mod keys;
mod login;
mod password;
mod rbac;
mod readme;
mod refresh;
mod rejection;
mod roundtrip;
mod store;
#[cfg(feature = "testing")]
mod testing;
mod vectors;
mod verify_cache;
mod verify_rejects;

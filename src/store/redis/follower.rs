//! The task keeping the local view current: it follows the revocation stream and reconnects with
//! backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::ConnectionManager;
use redis::{Client, RedisError};

use super::view::View;
use super::{BACKOFF_MAX, BACKOFF_MIN, Keys, Timeout};
use crate::clock::Clock;
use crate::error::BoxError;

/// What the background task holds: no reference to the store itself, so dropping the last store
/// clone drops `Inner`, which aborts the task.
pub(super) struct Follower {
    pub(super) client: Client,
    pub(super) conn: ConnectionManager,
    pub(super) keys: Keys,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) view: Arc<View>,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
}

impl Drop for Follower {
    // The task ends when the store is dropped, or when the runtime it was spawned on shuts down
    // while clones of the store live on: from then on nothing keeps the view current.
    fn drop(&mut self) {
        self.view.set_live(false);
    }
}

impl Follower {
    pub(super) async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let was_live = self.follow().await;
            self.view.set_live(false);
            if was_live {
                backoff = BACKOFF_MIN;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    pub(super) async fn within<T>(
        &self,
        f: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, BoxError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Box::new(e)),
            Err(_) => Err(Box::new(Timeout)),
        }
    }

    /// Subscribes, loads, then applies messages until the subscription breaks. Returns whether
    /// the view became live.
    pub(super) async fn follow(&self) -> bool {
        let pubsub = match self.within(self.client.get_async_pubsub()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(target: "tokengate::store", error = %e, "redis subscription: cannot connect; revocation checks fail closed");
                return false;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        if let Err(e) = self.within(sink.subscribe(&self.keys.channel)).await {
            tracing::warn!(target: "tokengate::store", error = %e, "redis subscription: cannot subscribe");
            return false;
        }
        // Subscribed first, loaded second: a revocation written after the load started arrives as
        // a message (buffered meanwhile); applying it twice is harmless.
        if let Err(e) = self.load().await {
            tracing::warn!(target: "tokengate::store", error = %e, "redis subscription: cannot load the revocation view");
            return false;
        }
        self.view.set_live(true);
        tracing::info!(target: "tokengate::store", entries = self.view.read().len(), "redis revocation view current");
        let mut tick = tokio::time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else {
                        tracing::warn!(target: "tokengate::store", "redis subscription closed; revocation checks fail closed until it is back");
                        return true;
                    };
                    let applied = std::str::from_utf8(msg.get_payload_bytes())
                        .is_ok_and(|m| self.view.write().apply(m));
                    if !applied {
                        tracing::warn!(target: "tokengate::store", "ignored a malformed message on the revocation channel");
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.within(sink.ping::<redis::Value>()).await {
                        tracing::warn!(target: "tokengate::store", error = %e, "redis subscription heartbeat failed; revocation checks fail closed until it is back");
                        return true;
                    }
                    self.view.write().purge(self.clock.now());
                }
            }
        }
    }

    /// Merges the three indexes into the view (one atomic read).
    pub(super) async fn load(&self) -> Result<(), BoxError> {
        let now = self.clock.now();
        let min = format!("({now}");
        let mut conn = self.conn.clone();
        type Scored = Vec<(String, i64)>;
        let (jtis, families, cutoffs, keeps): (Scored, Scored, HashMap<String, i64>, Scored) = self
            .within(
                redis::pipe()
                    .atomic()
                    .cmd("ZRANGEBYSCORE")
                    .arg(&self.keys.jtis)
                    .arg(&min)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .cmd("ZRANGEBYSCORE")
                    .arg(&self.keys.families)
                    .arg(&min)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .cmd("HGETALL")
                    .arg(&self.keys.cutoffs)
                    .cmd("ZRANGEBYSCORE")
                    .arg(&self.keys.cutoff_keep)
                    .arg(&min)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .query_async(&mut conn),
            )
            .await?;
        let mut view = self.view.write();
        for (jti, keep) in &jtis {
            view.add_jti(jti, *keep);
        }
        for (id, keep) in &families {
            view.add_family(id, *keep);
        }
        for (sub, keep) in &keeps {
            if let Some(at) = cutoffs.get(sub) {
                view.add_cutoff(sub, *at, *keep);
            }
        }
        view.purge(now);
        Ok(())
    }
}

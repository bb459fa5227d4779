//! The local view: the revocations this instance has seen, answered without a round trip.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::BoxError;
use crate::verify::TokenRef;

pub(super) struct View {
    pub(super) state: RwLock<ViewState>,
    pub(super) live: watch::Sender<bool>,
    pub(super) allow_stale: Duration,
}

#[derive(Default)]
pub(super) struct ViewState {
    /// jti → keep until.
    pub(super) jtis: HashMap<String, i64>,
    /// family id → keep until.
    pub(super) families: HashMap<String, i64>,
    /// sub → (cut-off, keep until).
    pub(super) cutoffs: HashMap<String, (i64, i64)>,
    /// Subscribed and loaded.
    pub(super) live: bool,
    /// When the view stopped being live (`None` before the first load).
    pub(super) down_since: Option<Instant>,
}

impl ViewState {
    pub(super) fn len(&self) -> usize {
        self.jtis.len() + self.families.len() + self.cutoffs.len()
    }

    pub(super) fn add_jti(&mut self, jti: &str, keep: i64) {
        let e = self.jtis.entry(jti.to_owned()).or_insert(keep);
        *e = (*e).max(keep);
    }

    pub(super) fn add_family(&mut self, id: &str, keep: i64) {
        let e = self.families.entry(id.to_owned()).or_insert(keep);
        *e = (*e).max(keep);
    }

    pub(super) fn add_cutoff(&mut self, sub: &str, at: i64, keep: i64) {
        let e = self.cutoffs.entry(sub.to_owned()).or_insert((at, keep));
        *e = (e.0.max(at), e.1.max(keep));
    }

    pub(super) fn purge(&mut self, now: i64) {
        self.jtis.retain(|_, keep| *keep > now);
        self.families.retain(|_, keep| *keep > now);
        self.cutoffs.retain(|_, (_, keep)| *keep > now);
    }

    /// Applies one `{prefix}events` message; returns false for one it does not understand.
    pub(super) fn apply(&mut self, msg: &str) -> bool {
        let mut parts = msg.splitn(3, ' ');
        let (Some(kind), Some(a), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Ok(a) = a.parse::<i64>() else {
            return false;
        };
        match kind {
            "j" => self.add_jti(rest, a),
            "f" => self.add_family(rest, a),
            "s" => {
                let Some((keep, sub)) = rest.split_once(' ') else {
                    return false;
                };
                let Ok(keep) = keep.parse::<i64>() else {
                    return false;
                };
                self.add_cutoff(sub, a, keep);
            }
            _ => return false,
        }
        true
    }
}

impl View {
    pub(super) fn new(allow_stale: Duration) -> Self {
        Self {
            state: RwLock::new(ViewState::default()),
            live: watch::Sender::new(false),
            allow_stale,
        }
    }

    // No code panics while holding the lock (only map operations), so a poisoned state is still
    // consistent.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, ViewState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, ViewState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_live(&self, live: bool) {
        {
            let mut s = self.write();
            if s.live && !live {
                s.down_since = Some(Instant::now());
            }
            s.live = live;
        }
        self.live.send_replace(live);
    }

    pub(super) fn check(&self, token: &TokenRef<'_>) -> Result<bool, BoxError> {
        let s = self.read();
        if !s.live {
            let within = s
                .down_since
                .is_some_and(|since| since.elapsed() < self.allow_stale);
            if !within {
                return Err(Box::new(ViewStale));
            }
        }
        Ok(s.jtis.contains_key(token.jti)
            || token.sid.is_some_and(|sid| s.families.contains_key(sid))
            || s.cutoffs.get(token.sub).is_some_and(|c| token.iat <= c.0))
    }
}

/// The revocation view is not known to be current.
#[derive(Debug, thiserror::Error)]
#[error("redis revocation view not current (subscription down or reloading)")]
pub(super) struct ViewStale;

#[cfg(test)]
mod tests {
    use super::ViewState;

    #[test]
    fn view_applies_well_formed_messages_and_ignores_the_rest() {
        let mut v = ViewState::default();
        assert!(v.apply("j 100 abc"));
        assert!(v.apply("f 200 fam-1"));
        assert!(v.apply("s 50 300 user with spaces"));
        assert_eq!(v.jtis.get("abc"), Some(&100));
        assert_eq!(v.families.get("fam-1"), Some(&200));
        assert_eq!(v.cutoffs.get("user with spaces"), Some(&(50, 300)));
        // Never lowered by an older message.
        assert!(v.apply("s 40 250 user with spaces"));
        assert_eq!(v.cutoffs.get("user with spaces"), Some(&(50, 300)));
        for bad in ["", "j", "j 1", "j x abc", "x 1 abc", "s 1 abc", "s 1 x abc"] {
            assert!(!v.apply(bad), "{bad:?}");
        }
        assert_eq!(v.len(), 3);
        v.purge(200);
        assert_eq!(v.len(), 1);
    }
}

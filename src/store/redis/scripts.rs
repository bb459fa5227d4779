//! The Lua scripts: each store operation that must be atomic is one script.

use std::sync::LazyLock;

use std::time::Duration;

use redis::Script;

use super::MAX_TIMESTAMP;
use crate::store::Throttle;

/// Adds `member` to the index `key` with score `keep` (never lowering it), drops members past
/// `now`, makes the key expire with its latest member; returns the member's score.
macro_rules! index_add {
    () => {
        r"
local function index_add(key, member, keep, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local old = redis.call('ZSCORE', key, member)
  if (not old) or tonumber(old) < tonumber(keep) then
    redis.call('ZADD', key, keep, member)
  end
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('EXPIREAT', key, top[2]) end
  return tonumber(redis.call('ZSCORE', key, member))
end
"
    };
}

/// KEYS: revoked:jti. ARGV: jti, keep, now, channel.
const REVOKE_JTI: &str = concat!(
    index_add!(),
    r"
local keep = index_add(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], 'j ' .. string.format('%d', keep) .. ' ' .. ARGV[1])
return keep
"
);

/// KEYS: fam:{id}, sessions:{sub}. ARGV: sub, jti, expires_at, idle, now, keep, id.
const CREATE_FAMILY: &str = concat!(
    index_add!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'current', ARGV[2], 'expires_at', ARGV[3],
  'idle', ARGV[4], 'last_used', ARGV[5], 'keep_until', ARGV[6], 'revoked', '0')
redis.call('EXPIREAT', KEYS[1], ARGV[6])
index_add(KEYS[2], ARGV[7], ARGV[6], ARGV[5])
return 1
"
);

/// KEYS: fam:{id}, revoked:fam. ARGV: presented, next, now, id, channel.
/// Returns {code, keep}: 0 unknown, 1 revoked, 2 reused (now revoked), 3 expired, 4 rotated.
const ROTATE: &str = concat!(
    index_add!(),
    r"
local f = redis.call('HMGET', KEYS[1], 'current', 'expires_at', 'idle', 'last_used', 'revoked', 'keep_until')
if not f[1] then return {0, 0} end
if f[5] == '1' then return {1, 0} end
if f[1] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  local keep = index_add(KEYS[2], ARGV[4], f[6], ARGV[3])
  redis.call('PUBLISH', ARGV[5], 'f ' .. string.format('%d', keep) .. ' ' .. ARGV[4])
  return {2, keep}
end
local now = tonumber(ARGV[3])
if now >= tonumber(f[2]) or now >= tonumber(f[4]) + tonumber(f[3]) then return {3, 0} end
redis.call('HSET', KEYS[1], 'current', ARGV[2], 'last_used', ARGV[3])
return {4, 0}
"
);

/// KEYS: fam:{id}, revoked:fam. ARGV: id, now, channel. Returns the keep-until, or -1 if unknown.
const REVOKE_FAMILY: &str = concat!(
    index_add!(),
    r"
local keep = redis.call('HGET', KEYS[1], 'keep_until')
if not keep then return -1 end
redis.call('HSET', KEYS[1], 'revoked', '1')
keep = index_add(KEYS[2], ARGV[1], keep, ARGV[2])
redis.call('PUBLISH', ARGV[3], 'f ' .. string.format('%d', keep) .. ' ' .. ARGV[1])
return keep
"
);

/// KEYS: cutoff, cutoff:keep, sessions:{sub}, revoked:fam. ARGV: sub, at, keep, now, channel,
/// family key prefix (`{prefix}fam:`). Revokes the subject's families (as `REVOKE_FAMILY`), then
/// stores the cut-off. Returns {at, keep, revoked family ids, their keep-untils}; at and keep are
/// 0 when no cut-off was stored.
const REVOKE_SUBJECT: &str = concat!(
    index_add!(),
    r"
local ids, keeps = {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[4], '+inf')) do
  local fam = ARGV[6] .. id
  local fkeep = redis.call('HGET', fam, 'keep_until')
  if fkeep then
    redis.call('HSET', fam, 'revoked', '1')
    fkeep = index_add(KEYS[4], id, fkeep, ARGV[4])
    redis.call('PUBLISH', ARGV[5], 'f ' .. string.format('%d', fkeep) .. ' ' .. id)
    table.insert(ids, id)
    table.insert(keeps, fkeep)
  end
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, s in ipairs(gone) do redis.call('HDEL', KEYS[1], s) end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if (not old) and tonumber(ARGV[3]) <= tonumber(ARGV[4]) then return {0, 0, ids, keeps} end
local at = tonumber(ARGV[2])
if old and tonumber(old) > at then at = tonumber(old) end
local keep = index_add(KEYS[2], ARGV[1], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', at))
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if top[2] then redis.call('EXPIREAT', KEYS[1], top[2]) end
redis.call('PUBLISH', ARGV[5], 's ' .. string.format('%d', at) .. ' ' .. string.format('%d', keep) .. ' ' .. ARGV[1])
return {at, keep, ids, keeps}
"
);

/// KEYS: fail:{key}. ARGV: now, max_failures, window, lockout. Returns {count, locked_until or -1}.
const RECORD_FAILURE: &str = r"
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'count', 'window_ends', 'locked_until')
local count = tonumber(h[1]) or 0
local window_ends = tonumber(h[2]) or 0
local locked = tonumber(h[3])
if locked and locked > now then return {count, locked} end
if (not h[1]) or locked or window_ends <= now then
  count = 0
  window_ends = now + tonumber(ARGV[3])
  locked = nil
end
count = count + 1
if count >= tonumber(ARGV[2]) then locked = now + tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], 'count', count, 'window_ends', string.format('%d', window_ends))
local ends = window_ends
if locked then
  redis.call('HSET', KEYS[1], 'locked_until', string.format('%d', locked))
  if locked > ends then ends = locked end
else
  redis.call('HDEL', KEYS[1], 'locked_until')
end
redis.call('EXPIREAT', KEYS[1], string.format('%d', ends))
return {count, locked or -1}
";

// Hashed once; invoked with EVALSHA, loaded on the first NOSCRIPT.
pub(super) static REVOKE_JTI_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REVOKE_JTI));
pub(super) static CREATE_FAMILY_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(CREATE_FAMILY));
pub(super) static ROTATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(ROTATE));
pub(super) static REVOKE_FAMILY_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(REVOKE_FAMILY));
pub(super) static REVOKE_SUBJECT_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(REVOKE_SUBJECT));
pub(super) static RECORD_FAILURE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(RECORD_FAILURE));

pub(super) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

pub(super) fn clamp(t: i64) -> i64 {
    t.clamp(1, MAX_TIMESTAMP)
}

pub(super) fn throttle_at(count: i64, locked_until: Option<i64>, now: i64) -> Throttle {
    let retry_after = locked_until
        .filter(|until| *until > now)
        .map(|until| Duration::from_secs(u64::try_from(until - now).unwrap_or(1).max(1)));
    Throttle {
        failures: u32::try_from(count.max(0)).unwrap_or(u32::MAX),
        retry_after,
    }
}

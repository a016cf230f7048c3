//! Per-client token buckets: a sharded map from client network to bucket, pruned as
//! it goes. Small on purpose: one lookup and a few float operations per request.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// How many operations on a shard between prunes of its idle buckets.
const PRUNE_EVERY: u32 = 4096;

/// A token-bucket rate limiter keyed by client network.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    shards: Vec<Mutex<Shard>>,
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<String, Bucket>,
    ops: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` tokens are added per second up to `burst`; `None` when
    /// `per_second` is 0 (rate limiting off).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        (per_second > 0).then(|| Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        })
    }

    /// A limiter of `per_minute` events per minute per key, `per_minute` at once; `None`
    /// when it is 0. For rare events (failed sign-ins), where a per-second rate is too coarse.
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        (per_minute > 0).then(|| Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(per_minute),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        })
    }

    /// Whether `key` has a token left, without taking it; `Err` carries how long until
    /// it will. A key never seen has a full bucket.
    pub fn peek(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = shard.buckets.get(key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// Takes one token for `key`; `Err` carries how long until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        shard.ops = shard.ops.wrapping_add(1);
        if shard.ops % PRUNE_EVERY == 0 {
            let (rate, burst) = (self.per_second, self.burst);
            // A bucket that would be full again carries no state worth keeping.
            shard.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = shard.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(10, 3).expect("on");
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("a", t0).expect("within burst");
        }
        let wait = limiter.check("a", t0).expect_err("burst spent");
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        limiter.check("b", t0).expect("other clients are separate");
        limiter
            .check("a", t0 + Duration::from_millis(100))
            .expect("one token refilled");
        limiter
            .check("a", t0 + Duration::from_millis(100))
            .expect_err("only one");
    }

    #[test]
    fn peeking_takes_nothing() {
        let limiter = RateLimiter::per_minute(2).expect("on");
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.peek("a", t0).expect("nothing taken yet");
        }
        limiter.check("a", t0).expect("first");
        limiter.check("a", t0).expect("second");
        let wait = limiter.peek("a", t0).expect_err("both spent");
        assert!(
            wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        limiter
            .peek("a", t0 + Duration::from_secs(30))
            .expect("one back after 30 s");
        assert!(RateLimiter::per_minute(0).is_none());
    }

    #[test]
    fn zero_rate_is_off() {
        assert!(RateLimiter::new(0, 40).is_none());
    }

    #[test]
    fn idle_buckets_are_pruned() {
        let limiter = RateLimiter::new(1000, 1).expect("on");
        let t0 = Instant::now();
        for i in 0..(PRUNE_EVERY * SHARDS as u32 * 2) {
            let _ = limiter.check(&i.to_string(), t0 + Duration::from_millis(u64::from(i)));
        }
        let kept: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().expect("lock").buckets.len())
            .sum();
        assert!(kept < (PRUNE_EVERY as usize) * SHARDS, "kept {kept}");
    }
}

//! Admission: whether a request may start now. Every request on both ports
//! passes here first.
//!
//! - **Rate:** each client address has a token bucket (`DIGITS_RATE_LIMIT`
//!   per second, `DIGITS_RATE_BURST` at once); each API key has its own
//!   bucket at its configured rate, wherever its calls come from. Over the
//!   rate, the answer is 429 / `RESOURCE_EXHAUSTED` with the time to wait.
//! - **Concurrency:** at most `DIGITS_MAX_CONCURRENT` requests are in
//!   progress at once; the next one is refused at once with 503 /
//!   `UNAVAILABLE` rather than queued, so overload sheds instead of growing
//!   queues and latency.
//!
//! The operators' token is not rate-limited, but counts towards concurrency.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::identity::Caller;

/// How long an overloaded caller is asked to wait.
pub const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often idle clients' buckets are forgotten.
const FORGET_PERIOD: Duration = Duration::from_secs(60);

/// Why a request may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The client is over its rate; it may try again after this long.
    #[error("too many requests; retry after {0:?}")]
    RateLimited(Duration),
    /// The gateway is at its concurrency limit.
    #[error("the service is at capacity")]
    Overloaded,
}

impl Refused {
    /// Whole seconds to put in `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let wait = match self {
            Self::RateLimited(wait) => *wait,
            Self::Overloaded => OVERLOADED_RETRY_AFTER,
        };
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
    }
}

/// The rate and concurrency limits, shared by both ports.
pub struct Admission {
    clients: DefaultKeyedRateLimiter<IpAddr>,
    keys: HashMap<String, DefaultDirectRateLimiter>,
    in_flight: Arc<Semaphore>,
    clock: DefaultClock,
}

impl Admission {
    /// The limits of `config`.
    pub fn new(config: &Config) -> Arc<Self> {
        let quota = Quota::per_second(config.rate_limit).allow_burst(config.rate_burst);
        let keys = config
            .api_keys
            .iter()
            .map(|key| {
                let burst = key.per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
                (key.name.clone(), RateLimiter::direct(Quota::per_second(key.per_second).allow_burst(burst)))
            })
            .collect();
        Arc::new(Self {
            clients: RateLimiter::keyed(quota),
            keys,
            in_flight: Arc::new(Semaphore::new(config.max_concurrent)),
            clock: DefaultClock::default(),
        })
    }

    /// Admits a request of `caller` from `client`: the permit is held until
    /// the answer is complete.
    ///
    /// # Errors
    /// [`Refused`] when over the rate or at capacity.
    pub fn admit(&self, caller: &Caller, client: IpAddr) -> Result<OwnedSemaphorePermit, Refused> {
        let checked = match caller {
            Caller::Admin => Ok(()),
            Caller::ApiKey { name } => match self.keys.get(name) {
                Some(bucket) => bucket.check(),
                None => self.clients.check_key(&client),
            },
            _ => self.clients.check_key(&client),
        };
        if let Err(not_until) = checked {
            return Err(Refused::RateLimited(not_until.wait_time_from(self.clock.now())));
        }
        self.in_flight.clone().try_acquire_owned().map_err(|_| Refused::Overloaded)
    }

    /// Forgets idle clients' buckets now and then, so memory stays bounded
    /// however many addresses pass by.
    pub async fn forget_idle_clients(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(FORGET_PERIOD);
        loop {
            ticks.tick().await;
            self.clients.retain_recent();
            self.clients.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_rate_waits_while_others_and_keys_go_on() {
        let config = Config {
            rate_limit: NonZeroU32::new(1).unwrap_or(NonZeroU32::MIN),
            rate_burst: NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN),
            max_concurrent: 3,
            ..Config::default()
        };
        let admission = Admission::new(&config);
        let visitor = Caller::Visitor { owner: "v:1".into() };
        let (a, b): (IpAddr, IpAddr) = ("198.51.100.1".parse().expect("ip"), "198.51.100.2".parse().expect("ip"));
        let first = admission.admit(&visitor, a).expect("burst 1");
        let second = admission.admit(&visitor, a).expect("burst 2");
        let refused = admission.admit(&visitor, a).expect_err("over the rate");
        assert!(matches!(refused, Refused::RateLimited(wait) if wait <= Duration::from_secs(1)), "{refused:?}");
        assert_eq!(refused.retry_after_secs(), 1);
        let third = admission.admit(&visitor, b).expect("another client");
        // Three in flight: the fourth is shed, whoever it is.
        assert_eq!(admission.admit(&Caller::Admin, b).expect_err("at capacity"), Refused::Overloaded);
        drop((first, second, third));
        let _permit = admission.admit(&Caller::Admin, a).expect("capacity is back");
    }
}

//! Admission: whether a request may start now. Every request on both ports
//! passes here first.
//!
//! - **Rate:** each caller has a token bucket (`DIGITS_RATE_LIMIT` per
//!   second, `DIGITS_RATE_BURST` at once): a browser by its visitor cookie, an
//!   API client by its token, a caller with neither by its address. So thirty
//!   people drawing behind one address (a school, an office, a mobile
//!   carrier's NAT) each have their own. Each address also has a bucket of
//!   its own, much larger (`DIGITS_ADDRESS_RATE_LIMIT`,
//!   `DIGITS_ADDRESS_RATE_BURST`), which every caller from it draws from too:
//!   new identities are free to make, so the address bounds what one machine
//!   can send however many it makes. Each API key has its own bucket at its
//!   configured rate, wherever its calls come from. Over a rate, the answer
//!   is 429 / `RESOURCE_EXHAUSTED` with the time to wait.
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
    callers: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    keys: HashMap<String, DefaultDirectRateLimiter>,
    in_flight: Arc<Semaphore>,
    clock: DefaultClock,
}

impl Admission {
    /// The limits of `config`.
    pub fn new(config: &Config) -> Arc<Self> {
        let quota = Quota::per_second(config.rate_limit).allow_burst(config.rate_burst);
        let address_quota = Quota::per_second(config.address_rate_limit).allow_burst(config.address_rate_burst);
        let keys = config
            .api_keys
            .iter()
            .map(|key| {
                let burst = key.per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
                (key.name.clone(), RateLimiter::direct(Quota::per_second(key.per_second).allow_burst(burst)))
            })
            .collect();
        Arc::new(Self {
            callers: RateLimiter::keyed(quota),
            addresses: RateLimiter::keyed(address_quota),
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
            Caller::ApiKey { name } if self.keys.contains_key(name) => self.keys[name].check(),
            Caller::Visitor { owner } | Caller::Token { owner } => {
                self.callers.check_key(owner).and_then(|()| self.addresses.check_key(&client))
            }
            _ => self.callers.check_key(&format!("address:{client}")).and_then(|()| self.addresses.check_key(&client)),
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
            self.callers.retain_recent();
            self.callers.shrink_to_fit();
            self.addresses.retain_recent();
            self.addresses.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
    }

    #[test]
    fn a_caller_over_its_rate_waits_while_others_and_keys_go_on() {
        let config = Config { rate_limit: rate(1), rate_burst: rate(2), max_concurrent: 3, ..Config::default() };
        let admission = Admission::new(&config);
        let visitor = Caller::Visitor { owner: "v:1".into() };
        let (a, b): (IpAddr, IpAddr) = ("198.51.100.1".parse().expect("ip"), "198.51.100.2".parse().expect("ip"));
        let first = admission.admit(&visitor, a).expect("burst 1");
        let second = admission.admit(&visitor, a).expect("burst 2");
        let refused = admission.admit(&visitor, a).expect_err("over the rate");
        assert!(matches!(refused, Refused::RateLimited(wait) if wait <= Duration::from_secs(1)), "{refused:?}");
        assert_eq!(refused.retry_after_secs(), 1);
        assert!(admission.admit(&visitor, b).is_err(), "the same visitor from another address is the same caller");
        let third =
            admission.admit(&Caller::Visitor { owner: "v:2".into() }, a).expect("another visitor, same address");
        // Three in flight: the fourth is shed, whoever it is.
        assert_eq!(admission.admit(&Caller::Admin, b).expect_err("at capacity"), Refused::Overloaded);
        drop((first, second, third));
        let _permit = admission.admit(&Caller::Admin, a).expect("capacity is back");
    }

    #[test]
    fn an_address_bounds_all_its_callers_together() {
        let config = Config {
            rate_limit: rate(1),
            rate_burst: rate(1),
            address_rate_limit: rate(1),
            address_rate_burst: rate(3),
            ..Config::default()
        };
        let admission = Admission::new(&config);
        let address: IpAddr = "198.51.100.9".parse().expect("ip");
        // A new identity per request does not escape the address's bucket.
        let admitted =
            (0..10).filter(|n| admission.admit(&Caller::Visitor { owner: format!("v:{n}") }, address).is_ok()).count();
        assert_eq!(admitted, 3);
        let elsewhere: IpAddr = "198.51.100.10".parse().expect("ip");
        assert!(admission.admit(&Caller::Visitor { owner: "v:new".into() }, elsewhere).is_ok());
    }
}

//! Finding the inference replicas. tonic resolves a host name once and pins
//! the connection, so `docker compose --scale inference=3` would leave two
//! replicas idle. Instead the name is re-resolved every refresh period, each
//! address is probed with gRPC health, and the healthy set is fed to tonic's
//! `balance_channel` as inserts and removals: new replicas get traffic within
//! one period and dead ones leave it. A failed call can ask for an early
//! refresh ([`Replicas::refresh_now`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use digits_service_kit::healthcheck;
use tokio::sync::{Notify, mpsc, watch};
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

/// The shortest gap between two refreshes, so that a burst of failing calls
/// asking for a refresh does not turn into a burst of DNS queries.
const MIN_GAP: Duration = Duration::from_millis(50);
/// The refresh period while no replica is healthy (at start-up, say), so the
/// first one is found quickly.
const EMPTY_PERIOD: Duration = Duration::from_millis(250);

/// Turns the service name into the addresses of its replicas.
pub trait Resolve: Send + Sync + 'static {
    /// The current addresses.
    fn resolve(&self) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + '_>>;
}

/// Resolves `host:port` through the system resolver (Docker's DNS in compose,
/// which answers with one address per replica).
#[derive(Debug, Clone)]
pub struct DnsResolver {
    host: String,
    port: u16,
}

/// The URL is not `http://HOST:PORT`.
#[derive(Debug, thiserror::Error)]
#[error("{url:?} is not a service URL of the form http://HOST:PORT")]
pub struct BadUrl {
    url: String,
}

impl DnsResolver {
    /// A resolver for the host and port of `url` (`http://HOST:PORT`).
    ///
    /// # Errors
    /// When the URL has no host or port, or is not plain `http`.
    pub fn from_url(url: &str) -> Result<Self, BadUrl> {
        let bad = || BadUrl { url: url.to_owned() };
        let uri: tonic::codegen::http::Uri = url.parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let host = uri.host().ok_or_else(bad)?.trim_start_matches('[').trim_end_matches(']').to_owned();
        Ok(Self { host, port: uri.port_u16().ok_or_else(bad)? })
    }
}

impl Resolve for DnsResolver {
    fn resolve(&self) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + '_>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((self.host.as_str(), self.port)).await?.collect()) })
    }
}

/// The healthy replicas behind one balanced channel.
#[derive(Clone)]
pub struct Replicas {
    channel: Channel,
    current: watch::Receiver<BTreeSet<SocketAddr>>,
    wake: Arc<Notify>,
}

impl Replicas {
    /// Starts the discovery task. `timeout` bounds every call made through
    /// the channel. The task stops when every clone of the result is dropped.
    pub fn start(resolver: impl Resolve, refresh: Duration, timeout: Duration) -> Self {
        let (channel, changes) = Channel::balance_channel(64);
        let (publish, current) = watch::channel(BTreeSet::new());
        let wake = Arc::new(Notify::new());
        let discovery = Discovery {
            resolver: Box::new(resolver),
            changes,
            publish,
            probes: Mutex::new(BTreeMap::new()),
            timeout,
            probe_timeout: refresh.clamp(Duration::from_millis(100), Duration::from_secs(1)),
        };
        tokio::spawn(discovery.run(refresh, Arc::downgrade(&wake)));
        Self { channel, current, wake }
    }

    /// The balanced channel over the healthy replicas.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The addresses currently receiving traffic.
    pub fn addresses(&self) -> BTreeSet<SocketAddr> {
        self.current.borrow().clone()
    }

    /// Asks for a refresh now, e.g. after a call failed because a replica went away.
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// Whether a replica is healthy, waiting up to `within` for one to
    /// appear (at start-up, or while a replica restarts) when none is.
    pub async fn any_within(&self, within: Duration) -> bool {
        let mut current = self.current.clone();
        if !current.borrow().is_empty() {
            return true;
        }
        self.refresh_now();
        tokio::time::timeout(within, current.wait_for(|set| !set.is_empty())).await.is_ok_and(|r| r.is_ok())
    }
}

struct Discovery {
    resolver: Box<dyn Resolve>,
    changes: mpsc::Sender<Change<SocketAddr, Endpoint>>,
    publish: watch::Sender<BTreeSet<SocketAddr>>,
    /// One health-probe channel per known address, kept between refreshes.
    probes: Mutex<BTreeMap<SocketAddr, Channel>>,
    timeout: Duration,
    probe_timeout: Duration,
}

impl Discovery {
    async fn run(self, refresh: Duration, wake: std::sync::Weak<Notify>) {
        loop {
            self.refresh().await;
            tokio::time::sleep(MIN_GAP).await;
            // Stop once nobody holds the Replicas any more.
            let Some(wake) = wake.upgrade() else { return };
            let period = if self.publish.borrow().is_empty() { refresh.min(EMPTY_PERIOD) } else { refresh };
            tokio::select! {
                () = tokio::time::sleep(period.saturating_sub(MIN_GAP)) => {}
                () = wake.notified() => {}
            }
            if self.changes.is_closed() {
                return;
            }
        }
    }

    async fn refresh(&self) {
        let resolved = match self.resolver.resolve().await {
            Ok(addrs) => addrs.into_iter().collect::<BTreeSet<_>>(),
            Err(e) => {
                // Keep the current set: a DNS hiccup must not drop healthy replicas.
                tracing::warn!(error = %e, "resolving the inference service failed");
                return;
            }
        };
        let healthy = self.probe_all(&resolved).await;
        metrics::gauge!("digits_inference_replicas", "state" => "known").set(resolved.len() as f64);
        metrics::gauge!("digits_inference_replicas", "state" => "healthy").set(healthy.len() as f64);
        let current = self.publish.borrow().clone();
        for addr in healthy.difference(&current) {
            tracing::info!(%addr, "inference replica added");
            let endpoint = self.endpoint(*addr);
            if self.changes.send(Change::Insert(*addr, endpoint)).await.is_err() {
                return;
            }
        }
        for addr in current.difference(&healthy) {
            tracing::info!(%addr, "inference replica removed");
            if self.changes.send(Change::Remove(*addr)).await.is_err() {
                return;
            }
        }
        if healthy != current {
            self.publish.send_replace(healthy);
        }
    }

    fn endpoint(&self, addr: SocketAddr) -> Endpoint {
        Endpoint::from_shared(format!("http://{addr}"))
            .expect("a socket address is a valid URI")
            .tcp_nodelay(true)
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
    }

    /// The addresses among `resolved` whose health check says SERVING.
    async fn probe_all(&self, resolved: &BTreeSet<SocketAddr>) -> BTreeSet<SocketAddr> {
        let channels: Vec<(SocketAddr, Channel)> = {
            let mut probes = self.probes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            probes.retain(|addr, _| resolved.contains(addr));
            resolved
                .iter()
                .map(|addr| {
                    let channel = probes.entry(*addr).or_insert_with(|| {
                        self.endpoint(*addr)
                            .timeout(self.probe_timeout)
                            .connect_timeout(self.probe_timeout)
                            .connect_lazy()
                    });
                    (*addr, channel.clone())
                })
                .collect()
        };
        let mut checks = tokio::task::JoinSet::new();
        for (addr, channel) in channels {
            let timeout = self.probe_timeout;
            checks.spawn(async move { (addr, healthcheck::check_channel(channel, "", timeout).await.is_ok()) });
        }
        let mut healthy = BTreeSet::new();
        while let Some(result) = checks.join_next().await {
            if let Ok((addr, true)) = result {
                healthy.insert(addr);
            }
        }
        healthy
    }
}

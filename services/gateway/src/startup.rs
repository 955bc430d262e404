//! Building and running the gateway: connect to the backends, bind both
//! ports, serve until the shutdown future resolves, then drain the log queue.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use digits_oip::OipService;
use digits_proto::inference::v1::inference_server::InferenceServer;
use digits_proto::logging::v1::logging_client::LoggingClient;
use digits_proto::oip::grpc_inference_service_server::GrpcInferenceServiceServer;
use digits_service_kit::grpc::{GrpcServer, ServeError};
use digits_service_kit::trace::Propagate;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admission::Admission;
use crate::client_addr::TrustedProxies;
use crate::config::Config;
use crate::discovery::{Backend, BadUrl, DnsResolver, Replicas, Resolve};
use crate::grpc_proxy::InferenceProxy;
use crate::http_server;
use crate::identity::Credentials;
use crate::inference::InferenceClient;
use crate::log_queue::{self, LogQueue};
use crate::routes;
use crate::spool::Spool;
use crate::state::AppState;

/// The service name the gateway's gRPC port reports health for.
pub use digits_proto::inference::v1::inference_server::SERVICE_NAME;

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A backend URL is malformed.
    #[error(transparent)]
    Url(#[from] BadUrl),
    /// An address could not be bound.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The log spool's folder is unusable.
    #[error("DIGITS_LOG_SPOOL_DIR {dir}: {source}")]
    Spool {
        /// The folder.
        dir: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving gRPC failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A bound, ready-to-serve gateway.
pub struct Application {
    http: TcpListener,
    grpc: TcpListener,
    state: AppState,
    config: Config,
}

impl Application {
    /// Connects lazily to the backends (their replicas found through DNS) and
    /// binds both ports.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let resolver = DnsResolver::from_url(&config.inference_url)?;
        Self::build_with_resolver(config, resolver).await
    }

    /// Like [`Application::build`], finding the inference replicas through `resolver`.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build_with_resolver(config: Config, resolver: impl Resolve) -> Result<Self, StartupError> {
        let logging = DnsResolver::from_url(&config.logging_url)?;
        Self::build_with_resolvers(config, resolver, logging).await
    }

    /// Like [`Application::build`], finding the inference and the logging
    /// replicas through resolvers of the caller's.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build_with_resolvers(
        config: Config,
        inference: impl Resolve,
        logging: impl Resolve,
    ) -> Result<Self, StartupError> {
        let replicas = Replicas::start(inference, Backend::INFERENCE, config.backend_refresh, config.grpc_timeout);
        // A message carries the image and a few bytes of framing.
        let inference = InferenceClient::new(replicas, config.max_body_bytes + 4096, config.grpc_timeout);
        let logging_replicas = Replicas::start(logging, Backend::LOGGING, config.backend_refresh, config.grpc_timeout);
        let logging = LoggingClient::with_interceptor(logging_replicas.channel(), Propagate);
        let (spool, replayed) = Spool::open(&config.log_spool_dir)
            .map_err(|source| StartupError::Spool { dir: config.log_spool_dir.clone(), source })?;
        let logs = LogQueue::with_spool(config.log_queue, spool, replayed);
        digits_service_kit::metrics::init("gateway", env!("CARGO_PKG_VERSION"));
        let admission = Admission::new(&config);
        let credentials = Credentials::new(&config);
        let proxies = TrustedProxies::new(config.trusted_proxies.clone());
        let proxy = InferenceProxy::new(
            inference.clone(),
            logs.clone(),
            admission.clone(),
            credentials.clone(),
            proxies.clone(),
            config.public_max_batch,
        );
        let state = AppState {
            inference,
            logging,
            logging_replicas,
            logs,
            admission,
            credentials,
            proxies,
            global_stats: Arc::default(),
            model_files: Arc::default(),
            proxy,
        };
        let http = TcpListener::bind(config.http_addr).await?;
        let grpc = TcpListener::bind(config.grpc_addr).await?;
        if !config.web_dir.join("index.html").is_file() {
            tracing::warn!(dir = %config.web_dir.display(), "the web app is not built; only the API is served");
        }
        Ok(Self { http, grpc, state, config })
    }

    /// The HTTP address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// The gRPC address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc.local_addr()
    }

    /// The log queue, for inspection.
    pub fn log_queue(&self) -> Arc<LogQueue> {
        self.state.logs.clone()
    }

    /// Serves HTTP and gRPC until `shutdown` resolves; then both servers
    /// finish the requests in flight, and the queued logs are written.
    ///
    /// # Errors
    /// A server error.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut stop: watch::Receiver<bool>| async move {
            let _ = stop.wait_for(|s| *s).await;
        };

        // The writer drains the queue only once both servers have stopped
        // taking requests, so nothing is queued after its last look.
        let (drain, drain_now) = watch::channel(false);
        let writer = tokio::spawn(log_queue::run_writer(
            self.state.logs.clone(),
            self.state.logging.clone(),
            drain_now,
            self.config.log_flush_timeout,
        ));

        let forget = tokio::spawn(self.state.admission.clone().forget_idle_clients());
        tracing::info!(http = %self.http.local_addr()?, "gateway listening");
        let proxy = Arc::new(self.state.proxy.clone());
        let native = InferenceServer::from_arc(proxy.clone())
            .max_decoding_message_size(self.config.max_body_bytes)
            .max_encoding_message_size(usize::MAX);
        // The Open Inference Protocol beside it, over the same proxy.
        let oip = GrpcInferenceServiceServer::new(OipService::new(proxy, env!("CARGO_PKG_VERSION")))
            .max_decoding_message_size(self.config.max_body_bytes)
            .max_encoding_message_size(usize::MAX);
        let grpc_server = GrpcServer::new(self.grpc, native).with(oip);
        grpc_server.health().set(true).await;
        let grpc_server = grpc_server.serve(stopped(stop.clone()));

        let app = routes::router(self.state.clone(), &self.config);
        let http_server = http_server::serve(self.http, app, self.config.read_timeout, stopped(stop.clone()));

        let ((), grpc_result) = tokio::join!(http_server, grpc_server);
        forget.abort();
        // Both servers have stopped taking requests: the queue only shrinks now.
        let _ = drain.send(true);
        let _ = writer.await;
        self.state.logs.close_spool();
        tracing::info!(log_queue = ?self.state.logs.stats(), "gateway stopped");
        Ok(grpc_result?)
    }
}

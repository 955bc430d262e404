//! Building and running the server: load the model and the repository's
//! versions, start the workers, bind, then serve the inference API with
//! gRPC health and reflection, reading the repository again every few
//! seconds, until the shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use digits_oip::OipService;
use digits_proto::inference::v1::inference_server::InferenceServer;
use digits_proto::oip::grpc_inference_service_server::GrpcInferenceServiceServer;
use digits_service_kit::grpc::{GrpcServer, ServeError};
use digits_service_kit::metrics as exporter;
use tokio::net::TcpListener;

use crate::config::{Config, ModelSource};
use crate::engine::Engine;
use crate::error::ModelError;
use crate::model::Model;
use crate::repository::{self, Registry, Repository};
use crate::service::InferenceService;

/// The fully qualified service name, as health checks and reflection see it.
pub use digits_proto::inference::v1::inference_server::SERVICE_NAME;

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The address could not be bound, or the workers could not start.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A bound, ready-to-serve inference server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    service: InferenceService,
    engine: Arc<Engine>,
    max_message_bytes: usize,
    /// The repository and its registry, while versions are polled for.
    polling: Option<(Repository, Arc<Registry>, Duration)>,
}

impl Application {
    /// Loads the model, starts the workers and binds `config.addr`.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        exporter::init("inference", env!("CARGO_PKG_VERSION"));
        describe_metrics();
        let root = config.repository.clone();
        let (repository, catalog) = tokio::task::spawn_blocking(move || {
            let embedded = Model::load(&ModelSource::Embedded)?;
            let mut repository = Repository::new(root, embedded);
            let catalog = repository.scan(None)?;
            Ok::<_, ModelError>((repository, catalog))
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
        if let Some(dir) = repository.model_dir()
            && !dir.is_dir()
        {
            tracing::info!(folder = %dir.display(), "the model repository has no folder for this model yet");
        }
        let engine = Arc::new(Engine::start(config.workers, config.queue, config.limits)?);
        let current = catalog.current().model.card.clone();
        tracing::info!(model = %current.name, version = %current.version, workers = engine.workers(), "model loaded");
        let registry = Arc::new(Registry::new(catalog));
        let service = InferenceService::new(
            engine.clone(),
            registry.clone(),
            config.limits,
            config.max_batch,
            config.max_message_bytes,
            &config.replica,
        );
        let polling =
            (config.repository.is_some() && !config.poll.is_zero()).then_some((repository, registry, config.poll));
        let listener = TcpListener::bind(config.addr).await?;
        let metrics_listener = TcpListener::bind(config.metrics_addr).await?;
        Ok(Self { listener, metrics_listener, service, engine, max_message_bytes: config.max_message_bytes, polling })
    }

    /// The bound address (useful when the port was 0).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound address of the metrics port.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting calls, finishes
    /// the ones in flight and stops the workers.
    ///
    /// # Errors
    /// A transport error from the server.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), StartupError> {
        let service = Arc::new(self.service);
        let inference = InferenceServer::from_arc(service.clone())
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(usize::MAX);
        // The Open Inference Protocol beside the native API, over the same service.
        let oip = GrpcInferenceServiceServer::new(OipService::new(service, env!("CARGO_PKG_VERSION")))
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(usize::MAX);
        let server = GrpcServer::new(self.listener, inference).with(oip);
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = tokio::spawn(exporter::serve(self.metrics_listener, async {
            let _ = metrics_stopped.await;
        }));
        let poller = self
            .polling
            .map(|(repository, registry, every)| tokio::spawn(repository::poll(repository, registry, every)));
        // The model is loaded and the workers run: ready.
        server.health().set(true).await;
        let result = server.serve(shutdown).await;
        if let Some(poller) = poller {
            poller.abort();
        }
        let _ = stop_metrics.send(());
        let _ = metrics_server.await;
        drop(self.engine);
        tracing::info!("inference server stopped");
        Ok(result?)
    }
}

fn describe_metrics() {
    metrics::describe_gauge!(
        "digits_model_info",
        "The versions this replica serves: 1 per version, with its role (current, canary, available) and \
         traffic share in percent; 0 for one no longer served."
    );
    metrics::describe_counter!("digits_model_calls_total", "Calls answered, by the model version that answered them.");
    metrics::describe_counter!(
        "digits_model_reloads_total",
        "Model versions loaded, refused (a failed check) and removed by passes over the repository."
    );
}

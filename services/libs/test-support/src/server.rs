//! A service running on the test's tokio runtime, with a handle that stops it
//! the way a signal would: through its shutdown future.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The shutdown future handed to a service: resolves when the test stops it.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running service. Dropping the handle also stops it (without waiting).
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Spawns `serve(shutdown)`, e.g. `|stop| app.run_until_stopped(stop)`.
    /// The test fails if the service ends with an error.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn<F, E>(serve: impl FnOnce(Shutdown) -> F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Debug,
    {
        crate::init_test_log();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        let serving = serve(shutdown);
        let task = tokio::spawn(async move {
            if let Err(error) = serving.await {
                panic!("the service failed: {error:?}");
            }
        });
        Self { stop: Some(stop), task: Some(task) }
    }

    /// Stops the service gracefully and waits until it has stopped.
    ///
    /// # Panics
    /// When the service failed or panicked.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the service stops cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

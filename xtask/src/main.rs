//! The project's commands, run as `cargo xtask <command>` from anywhere in
//! the repository; [`Task`] lists them (`cargo xtask --help`).
//!
//! Each command sets up what it needs itself (the wasm target, the Python
//! venv) so that a fresh machine needs nothing but Rust and Python.

mod bench;
mod containers;
mod contract;
mod deploy;
mod docs;
mod fuzz;
mod lifecycle;
mod local_stack;
mod oip;
mod prometheus;
mod recognition;
mod run;
mod setup;
mod soak;
mod test;
mod traces;
mod web;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's developer commands, run as `cargo xtask <COMMAND>`.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

/// One developer command.
#[derive(Debug, Subcommand)]
enum Task {
    /// Build and start Digits locally on the embedded defaults
    Run,
    /// Install what is missing and run every check and test suite
    Test {
        /// Leave out the training (Python) tests
        #[arg(long)]
        skip_python: bool,
    },
    /// Build the web app into web-ui/dist
    Web,
    /// The inference benchmark beside onnxruntime and PyTorch
    Bench {
        /// Only what the Prometheus metrics cost: the stack with them on and off
        #[arg(long, conflicts_with = "capacity")]
        metrics_cost: bool,
        /// Only the CPU time per request of each service and per stored row of PostgreSQL, and the bytes per row
        #[arg(long, conflicts_with = "model_cost")]
        capacity: bool,
        /// Only the logged PNG throughput at 32 clients with the embedded model and with the release before it
        #[arg(long, conflicts_with = "metrics_cost")]
        model_cost: bool,
    },
    /// Build the images and run the compose scenarios
    Containers {
        /// Build everything inside Docker, as an operator's `docker compose build` does
        #[arg(long)]
        from_source: bool,
        /// Build the images, run no scenario
        #[arg(long)]
        build_only: bool,
    },
    /// Deploy the images to a Docker Swarm of three engine nodes and run its scenarios
    Swarm,
    /// Schemathesis against the served OpenAPI (release binaries already built)
    Contract,
    /// Debian's Prometheus scraping the three services under traffic (release binaries already built)
    Metrics,
    /// The real tritonclient against the Open Inference Protocol endpoints (release binaries already built)
    Oip,
    /// Spans of one request in all three services, exported to a real OTLP receiver (release binaries already built)
    Traces,
    /// The feedback loop at small scale: labels through the API, a fine-tune, its canary (release binaries already built)
    Lifecycle,
    /// How the served model reads held-out drawings: canvas digits, numbers, non-digits
    Recognition {
        /// A model folder (model.onnx + model.json) instead of the embedded model
        #[arg(long)]
        model: Option<std::path::PathBuf>,
    },
    /// Mixed load on a local stack, with each service's memory at start and end
    Soak {
        /// How long, in seconds
        #[arg(default_value_t = 60)]
        seconds: u64,
        /// Requests in flight at once; with `--people`, the people drawing
        #[arg(default_value_t = 64)]
        concurrency: usize,
        /// People at a person's pace (a drawing every 5 s, drafts read in the
        /// page) instead of requests as fast as they are answered
        #[arg(long)]
        people: bool,
        /// With `--people`: drafts read by the server, as before the model
        /// ran in the page (a draft about every 90 ms while the pen moves)
        #[arg(long, requires = "people")]
        server_drafts: bool,
    },
    /// Decoding and preprocessing under libFuzzer for a fixed time (nightly toolchain)
    Fuzz {
        /// How long, in seconds
        #[arg(default_value_t = 300)]
        seconds: u64,
    },
}

/// Runs the command; a failure prints its chain of causes, not a backtrace
/// of xtask's own frames, and exits 1.
fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Task::Run => run::run(),
        Task::Test { skip_python } => test::test(skip_python),
        Task::Web => web::web(),
        Task::Bench { metrics_cost: true, .. } => bench::load::metrics_cost(),
        Task::Bench { capacity: true, .. } => bench::capacity::capacity(),
        Task::Bench { model_cost: true, .. } => bench::model_cost(),
        Task::Bench { .. } => bench::bench(),
        Task::Containers { from_source, build_only } => containers::containers(from_source, build_only),
        Task::Swarm => containers::swarm(),
        Task::Contract => contract::contract(),
        Task::Metrics => prometheus::prometheus_test(),
        Task::Oip => oip::oip_test(),
        Task::Traces => traces::traces_test(),
        Task::Lifecycle => lifecycle::lifecycle_test(),
        Task::Recognition { model } => recognition::recognition(model.as_deref()),
        Task::Soak { seconds, concurrency, people, server_drafts } => {
            let pace = match (people, server_drafts) {
                (false, _) => None,
                (true, false) => Some("people"),
                (true, true) => Some("people-drafting"),
            };
            soak::soak(seconds, concurrency, pace)
        }
        Task::Fuzz { seconds } => fuzz::fuzz(seconds),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_parses_each_task() {
        Cli::command().debug_assert();
        let soak = Cli::try_parse_from(["xtask", "soak", "5"]).expect("soak");
        assert!(matches!(soak.command, Task::Soak { seconds: 5, concurrency: 64, people: false, .. }));
        assert!(Cli::try_parse_from(["xtask", "soak", "five"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["xtask", "test", "--skip-python"]).expect("test").command,
            Task::Test { skip_python: true }
        ));
    }
}

//! The model repository: versions of the model in folders, read again every
//! few seconds and swapped in without a restart.
//!
//! ```text
//! $DIGITS_MODEL_REPOSITORY/
//!   digits-mnist-cnn/          the model's name (from its cards)
//!     serving.json             optional: which version is current, and the canary
//!     1.3.0/  model.onnx  model.json  golden.json
//!     1.4.0/  model.onnx  model.json  golden.json
//! ```
//!
//! A version folder is named by its semantic version, which its card must
//! repeat. A new or changed folder is loaded, checked ([`Model::load`]:
//! checksum, contract, golden fixture) and only then swapped in; a folder
//! that fails is refused with one log line, and whatever served before goes
//! on serving, including an earlier good copy of the same version. A folder
//! that disappears stops taking calls at once, while the calls already
//! running on it finish. The embedded model is always there beneath the
//! repository's versions, so a server never has nothing to serve.
//!
//! `serving.json` chooses, and is read on each pass too:
//! `{"current": "1.3.0", "canary": {"version": "1.4.0", "percent": 10}}`.
//! Without `current`, the newest version that is not the canary is current.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use semver::Version;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::ModelSource;
use crate::error::ModelError;
use crate::model::Model;

/// The file in the model's folder that chooses the current version and the canary.
pub const SERVING_FILE: &str = "serving.json";

/// Where a served version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary.
    Embedded,
    /// A folder of the repository.
    Repository,
}

impl Origin {
    /// Its name in `ModelInfo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Repository => "repository",
        }
    }
}

/// What a served version does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Answers calls that name no version, but the canary's share.
    Current,
    /// Answers a share of the calls that name no version.
    Canary,
    /// Answers only calls that name it.
    Available,
}

impl Role {
    /// Its name in the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Canary => "canary",
            Self::Available => "available",
        }
    }
}

/// The canary: a version and the share of calls it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// The candidate version.
    pub version: Version,
    /// Percent of routing keys, 1 to 99.
    pub percent: u8,
}

/// One version that can answer calls.
#[derive(Clone)]
pub struct Served {
    /// The loaded, checked model.
    pub model: Model,
    /// Where it came from.
    pub origin: Origin,
}

/// What a server holds at one moment: immutable, replaced whole.
pub struct Catalog {
    versions: BTreeMap<Version, Served>,
    current: Version,
    canary: Option<Canary>,
}

/// A call named a version that is not served.
#[derive(Debug, thiserror::Error)]
#[error("model version {asked:?} is not served; the versions are {served}")]
pub struct UnknownVersion {
    /// What the call named.
    pub asked: String,
    /// What is served, comma-separated.
    pub served: String,
}

impl Catalog {
    /// Only the embedded model.
    pub fn embedded(model: Model) -> Result<Self, ModelError> {
        let version = parse_version(&model.card.version)?;
        let versions = BTreeMap::from([(version.clone(), Served { model, origin: Origin::Embedded })]);
        Ok(Self { versions, current: version, canary: None })
    }

    /// The current version.
    pub fn current(&self) -> &Served {
        &self.versions[&self.current]
    }

    /// The canary, when one is configured and served.
    pub fn canary(&self) -> Option<&Canary> {
        self.canary.as_ref()
    }

    /// The version named `asked`, or with an empty `asked`, the one that
    /// answers `routing_key`: the canary for its share of keys, else the
    /// current version. Equal keys get the same version while the canary
    /// stays the same; calls without a key are spread in turn, counted by
    /// `turns`.
    ///
    /// # Errors
    /// [`UnknownVersion`] when `asked` is not served.
    pub fn choose(&self, asked: &str, routing_key: &str, turns: &AtomicU64) -> Result<&Served, UnknownVersion> {
        if !asked.is_empty() {
            return self.named(asked);
        }
        if let Some(canary) = &self.canary {
            let bucket = if routing_key.is_empty() {
                // 37 is prime to 100: each run of 100 calls visits every bucket once.
                (turns.fetch_add(1, Ordering::Relaxed) * 37 % 100) as u8
            } else {
                bucket(&canary.version, routing_key)
            };
            if bucket < canary.percent {
                return Ok(&self.versions[&canary.version]);
            }
        }
        Ok(self.current())
    }

    /// The version named `asked`.
    ///
    /// # Errors
    /// [`UnknownVersion`] when it is not served.
    pub fn named(&self, asked: &str) -> Result<&Served, UnknownVersion> {
        Version::parse(asked)
            .ok()
            .and_then(|v| self.versions.get(&v))
            .ok_or_else(|| UnknownVersion { asked: asked.into(), served: self.list() })
    }

    /// Every version, newest first, with its role and its share of the calls
    /// that name no version, in percent.
    pub fn versions(&self) -> impl Iterator<Item = (&Version, &Served, Role, u8)> {
        let canary = self.canary.as_ref().map_or(0, |c| c.percent);
        self.versions.iter().rev().map(move |(version, served)| {
            if *version == self.current {
                (version, served, Role::Current, 100 - canary)
            } else if self.canary.as_ref().is_some_and(|c| c.version == *version) {
                (version, served, Role::Canary, canary)
            } else {
                (version, served, Role::Available, 0)
            }
        })
    }

    fn list(&self) -> String {
        self.versions.keys().rev().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// The bucket, 0 to 99, of a routing key for a canary version. The version
/// is part of the hash, so each new canary is tried on another set of users.
fn bucket(version: &Version, routing_key: &str) -> u8 {
    let digest = Sha256::new().chain_update(version.to_string()).chain_update([0]).chain_update(routing_key).finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) % 100) as u8
}

fn parse_version(text: &str) -> Result<Version, ModelError> {
    Version::parse(text).map_err(|e| ModelError::Contract(format!("version {text:?} is not a semantic version: {e}")))
}

/// The catalog the service answers from, replaced whole by each pass over
/// the repository.
pub struct Registry {
    catalog: RwLock<Arc<Catalog>>,
    /// Calls without a routing key so far, to spread them over the versions.
    turns: AtomicU64,
    /// The `digits_model_info` series last set: (version, role, percent).
    reported: Mutex<Vec<[String; 3]>>,
}

impl Registry {
    /// A registry serving `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        let registry =
            Self { catalog: RwLock::new(Arc::new(catalog)), turns: AtomicU64::new(0), reported: Mutex::default() };
        registry.report(&registry.snapshot());
        registry
    }

    /// The version that answers a call naming `asked` (empty: any) with
    /// `routing_key` (see [`Catalog::choose`]).
    ///
    /// # Errors
    /// [`UnknownVersion`] when `asked` is not served.
    pub fn choose(&self, asked: &str, routing_key: &str) -> Result<Served, UnknownVersion> {
        self.snapshot().choose(asked, routing_key, &self.turns).cloned()
    }

    /// What is served now. Calls keep the snapshot they started with.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.catalog.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn replace(&self, catalog: Catalog) {
        self.report(&catalog);
        *self.catalog.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
    }

    /// Sets `digits_model_info` to what `catalog` serves; a series that
    /// changed or went drops to 0.
    fn report(&self, catalog: &Catalog) {
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        let now: Vec<[String; 3]> = catalog
            .versions()
            .map(|(version, _, role, percent)| [version.to_string(), role.as_str().to_owned(), percent.to_string()])
            .collect();
        let name = catalog.current().model.card.name.clone();
        let series = |[version, role, percent]: &[String; 3], value: f64| {
            metrics::gauge!("digits_model_info", "name" => name.clone(), "version" => version.clone(),
                "role" => role.clone(), "traffic_percent" => percent.clone())
            .set(value);
        };
        reported.iter().filter(|s| !now.contains(s)).for_each(|s| series(s, 0.0));
        now.iter().for_each(|s| series(s, 1.0));
        *reported = now;
    }
}

/// The files of a version folder as last seen: name, length and time of
/// change of each. A different fingerprint means the folder changed.
type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

/// What became of one version folder.
struct Folder {
    fingerprint: Fingerprint,
    /// The last copy of this version that passed its checks.
    good: Option<Model>,
}

/// `serving.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    current: Option<String>,
    canary: Option<PolicyCanary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyCanary {
    version: String,
    percent: u8,
}

/// The repository of one model: reads its folder and builds catalogs.
pub struct Repository {
    root: Option<PathBuf>,
    name: String,
    embedded: Model,
    folders: HashMap<Version, Folder>,
    policy: Option<(Fingerprint, Result<Policy, String>)>,
    /// What the last pass logged about the policy, so it is said once.
    said: String,
}

impl Repository {
    /// The repository at `root` (none: only the embedded model) of the
    /// model the embedded card names.
    pub fn new(root: Option<PathBuf>, embedded: Model) -> Self {
        let name = embedded.card.name.clone();
        Self { root, name, embedded, folders: HashMap::new(), policy: None, said: String::new() }
    }

    /// The folder of this model's versions.
    pub fn model_dir(&self) -> Option<PathBuf> {
        self.root.as_ref().map(|r| r.join(&self.name))
    }

    /// Reads the repository, loads and checks what is new or changed, and
    /// builds the catalog to serve. Blocking: run it off the async threads.
    ///
    /// # Errors
    /// Only when the embedded model's version is not a semantic version.
    pub fn scan(&mut self, previous: Option<&Catalog>) -> Result<Catalog, ModelError> {
        let mut catalog = Catalog::embedded(self.embedded.clone())?;
        let Some(dir) = self.model_dir() else { return Ok(catalog) };
        let found = version_folders(&dir);
        self.folders.retain(|version, _| {
            let kept = found.contains_key(version);
            if !kept {
                tracing::info!(%version, "model version removed from the repository; it takes no new calls");
                metrics::counter!("digits_model_reloads_total", "outcome" => "removed").increment(1);
            }
            kept
        });
        for (version, path) in found {
            let fingerprint = fingerprint(&path);
            let folder = self.folders.entry(version.clone()).or_insert(Folder { fingerprint: Vec::new(), good: None });
            if folder.fingerprint != fingerprint {
                folder.fingerprint = fingerprint;
                match load(&path, &version, &self.name) {
                    Ok(model) => {
                        tracing::info!(%version, sha256 = %model.card.file.sha256, "model version loaded and checked");
                        metrics::counter!("digits_model_reloads_total", "outcome" => "loaded").increment(1);
                        folder.good = Some(model);
                    }
                    Err(error) => {
                        tracing::error!(
                            %version,
                            folder = %path.display(),
                            %error,
                            kept_serving = folder.good.is_some(),
                            "model version refused; what was serving goes on serving"
                        );
                        metrics::counter!("digits_model_reloads_total", "outcome" => "refused").increment(1);
                    }
                }
            }
            if let Some(model) = &folder.good {
                catalog.versions.insert(version, Served { model: model.clone(), origin: Origin::Repository });
            }
        }
        let policy = self.policy(&dir);
        self.choose(&mut catalog, &policy, previous);
        Ok(catalog)
    }

    /// `serving.json`, read again when it changed; a broken one keeps the
    /// last good choice (logged once).
    fn policy(&mut self, dir: &Path) -> Option<Policy> {
        let path = dir.join(SERVING_FILE);
        let stamp = file_stamp(&path).into_iter().collect::<Fingerprint>();
        if self.policy.as_ref().is_none_or(|(seen, _)| *seen != stamp) {
            let parsed = if stamp.is_empty() {
                Ok(Policy::default())
            } else {
                std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| serde_json::from_str::<Policy>(&text).map_err(|e| e.to_string()))
            };
            if let Err(error) = &parsed {
                tracing::error!(file = %path.display(), %error, "serving.json refused; the current choice stays");
            }
            self.policy = Some((stamp, parsed));
        }
        self.policy.as_ref().and_then(|(_, p)| p.as_ref().ok()).cloned()
    }

    /// Sets the current version and the canary of `catalog` from `policy`,
    /// logging what changed.
    fn choose(&mut self, catalog: &mut Catalog, policy: &Option<Policy>, previous: Option<&Catalog>) {
        let mut notes = Vec::new();
        let served = |v: &str| Version::parse(v).ok().filter(|v| catalog.versions.contains_key(v));
        let policy = match policy {
            Some(policy) => policy,
            // A broken serving.json: keep what was chosen, where still served.
            None => &Policy {
                current: previous.map(|p| p.current.to_string()),
                canary: previous
                    .and_then(|p| p.canary.as_ref())
                    .map(|c| PolicyCanary { version: c.version.to_string(), percent: c.percent }),
            },
        };
        let canary = policy.canary.as_ref().and_then(|c| match (served(&c.version), c.percent) {
            (_, 0) => None,
            (Some(version), percent @ 1..=99) => Some(Canary { version, percent }),
            (Some(_), percent) => {
                notes.push(format!("canary percent {percent} is not 0 to 99; no canary"));
                None
            }
            (None, _) => {
                notes.push(format!("canary version {} is not served; no canary", c.version));
                None
            }
        });
        let newest = catalog.versions.keys().rev().find(|v| canary.as_ref().is_none_or(|c| c.version != **v));
        let current = match &policy.current {
            Some(asked) => served(asked).or_else(|| {
                notes.push(format!("current version {asked} is not served; keeping the last current one"));
                previous.map(|p| p.current.clone()).filter(|v| catalog.versions.contains_key(v))
            }),
            None => None,
        }
        .or_else(|| newest.cloned())
        .unwrap_or_else(|| catalog.current.clone());
        catalog.canary = canary.filter(|c| c.version != current);
        catalog.current = current;
        let said = notes.join("; ");
        if said != self.said && !said.is_empty() {
            tracing::warn!(problems = %said, "serving.json cannot be followed in full");
        }
        self.said = said;
        let canary_of = |c: Option<&Canary>| c.map(|c| (c.version.clone(), c.percent));
        if previous.is_none_or(|p| p.current != catalog.current || canary_of(p.canary()) != canary_of(catalog.canary()))
        {
            tracing::info!(
                current = %catalog.current,
                canary = %catalog.canary.as_ref().map_or("none".into(), |c| format!("{} at {}%", c.version, c.percent)),
                versions = %catalog.list(),
                "serving"
            );
        }
    }
}

/// The version folders under `dir`: names that are semantic versions (so a
/// folder being copied as `1.4.0.partial` and renamed when complete is
/// never read half-written).
fn version_folders(dir: &Path) -> BTreeMap<Version, PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()) && e.path().is_dir())
        .filter_map(|e| Some((Version::parse(e.file_name().to_str()?).ok()?, e.path())))
        .collect()
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files: Fingerprint = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| file_stamp(&e.path()))
        .collect();
    files.sort();
    files
}

fn file_stamp(path: &Path) -> Option<(String, u64, Option<SystemTime>)> {
    let meta = std::fs::metadata(path).ok()?;
    let name = path.file_name()?.to_string_lossy().into_owned();
    meta.is_file().then(|| (name, meta.len(), meta.modified().ok()))
}

/// Loads and checks one version folder, whose card must name this model
/// and this version.
fn load(path: &Path, version: &Version, name: &str) -> Result<Model, ModelError> {
    let model = Model::load(&ModelSource::Dir(path.to_owned()))?;
    if model.card.name != name {
        return Err(ModelError::Contract(format!("its card names model {:?}, not {name:?}", model.card.name)));
    }
    if parse_version(&model.card.version)? != *version {
        return Err(ModelError::Contract(format!(
            "its card says version {}, but its folder is {version}",
            model.card.version
        )));
    }
    Ok(model)
}

/// Publishes the model in `folder` (its `model.json` and the files beside
/// it) to the repository at `root`, as `<name>/<version>/` from its card:
/// copied under a name no pass reads, then renamed into place, so a server
/// never reads it half-written. A version already there is replaced.
///
/// # Errors
/// When the card cannot be read, or a file cannot be copied or renamed.
pub fn publish(root: &Path, folder: &Path) -> Result<PathBuf, ModelError> {
    let card_path = folder.join("model.json");
    let text = std::fs::read_to_string(&card_path).map_err(|source| ModelError::Io { path: card_path, source })?;
    let card: crate::model::ModelCard = serde_json::from_str(&text)?;
    let version = parse_version(&card.version)?;
    let models = root.join(&card.name);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ModelError::Io { path, source }
    };
    let staging = models.join(format!(".{version}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    for entry in std::fs::read_dir(folder).map_err(io(folder))? {
        let path = entry.map_err(io(folder))?.path();
        if path.is_file() {
            let target = staging.join(path.file_name().unwrap_or_default());
            std::fs::copy(&path, &target).map_err(io(&target))?;
        }
    }
    let target = models.join(version.to_string());
    if target.exists() {
        // Two renames: the old copy is out of the way for a moment only.
        let old = models.join(format!(".{version}.old"));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&target, &old).map_err(io(&target))?;
        std::fs::rename(&staging, &target).map_err(io(&target))?;
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    } else {
        std::fs::rename(&staging, &target).map_err(io(&target))?;
    }
    Ok(target)
}

/// Reads the repository every `every` and swaps in each new catalog, until
/// the task is dropped.
pub async fn poll(mut repository: Repository, registry: Arc<Registry>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let previous = registry.snapshot();
        let scanned = tokio::task::spawn_blocking(move || {
            let catalog = repository.scan(Some(&previous));
            (repository, catalog)
        })
        .await;
        let Ok((returned, catalog)) = scanned else {
            tracing::error!("a pass over the model repository panicked; polling stops");
            return;
        };
        repository = returned;
        match catalog {
            Ok(catalog) => registry.replace(catalog),
            Err(error) => tracing::error!(%error, "the model repository could not be read"),
        }
    }
}
